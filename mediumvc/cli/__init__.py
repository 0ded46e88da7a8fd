"""`mediumvc` command line: one module per command group, each with its options beside its handler.

Errors a user can fix are printed as one line `mediumvc: error: ...` with exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from mediumvc import __version__
from mediumvc.cli import benchmark, convert, evaluate, model, serve, stream, train
from mediumvc.errors import MediumVCError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mediumvc", description="Any-to-any voice conversion with MediumVC.")
    parser.add_argument("--version", action="version", version=f"mediumvc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    convert.add_parser(sub)
    stream.add_parser(sub)
    model.add_parsers(sub)
    train.add_parsers(sub)
    serve.add_parser(sub)
    evaluate.add_parser(sub)
    benchmark.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)  # --help and --version print here
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
        return args.func(args)
    except MediumVCError as e:
        print(f"mediumvc: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mediumvc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `mediumvc ... | head`: the reader left; nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's flush goes nowhere
        return 0
