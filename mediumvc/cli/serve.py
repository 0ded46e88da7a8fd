"""`mediumvc serve`: the web page and the HTTP API."""

from __future__ import annotations

import argparse
from pathlib import Path

from mediumvc.cli.common import add_runtime_options, apply_threads


def add_parser(sub) -> None:
    p = sub.add_parser(
        "serve", help="web page (Gradio) and HTTP API for conversion, on 127.0.0.1 unless told otherwise"
    )
    p.add_argument(
        "--model",
        nargs="+",
        metavar="[NAME=]DIR",
        help="model directories to offer (default: the bundled model); the first is the default",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 exposes it to the network)")
    p.add_argument("--port", type=int, default=7860, help="TCP port")
    add_runtime_options(p, precision=False)
    p.add_argument("--max-upload-mb", type=float, default=20.0, help="largest request (all files together)")
    p.add_argument("--max-seconds", type=float, default=120.0, help="longest recording accepted")
    p.add_argument("--max-targets", type=int, default=8, help="most target clips per request")
    p.add_argument("--concurrency", type=int, default=1, help="conversions at a time")
    p.add_argument("--queue-size", type=int, default=16, help="requests that may wait; more are answered 503")
    p.add_argument("--preload", action="store_true", help="load the default model before serving")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mediumvc.serve.app import serve
    from mediumvc.serve.service import ServeConfig

    models = {}
    for item in args.model or []:
        name, _, path = item.rpartition("=")
        models[name or Path(path).name] = path
    apply_threads(args)
    config = ServeConfig(
        models=models,
        device=args.device,
        max_upload_mb=args.max_upload_mb,
        max_seconds=args.max_seconds,
        max_targets=args.max_targets,
        concurrency=args.concurrency,
        queue_size=args.queue_size,
    )
    serve(config, host=args.host, port=args.port, preload=args.preload)
    return 0
