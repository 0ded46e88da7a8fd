"""Option groups shared by several commands, each defined once."""

from __future__ import annotations

import argparse

from mediumvc.errors import MediumVCError


def add_runtime_options(p: argparse.ArgumentParser, device: str = "auto", precision: bool = True) -> None:
    """--device, --precision, --threads."""
    p.add_argument("--device", default=device, help=f"cpu, cuda, cuda:N or auto (default: {device})")
    if precision:
        p.add_argument(
            "--precision",
            default="auto",
            choices=["auto", "fp32", "bf16"],
            help="auto (the default): bf16 on GPUs and on CPUs with AVX-512 BF16 or AMX, fp32 elsewhere",
        )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")


def add_vocoder_option(p: argparse.ArgumentParser) -> None:
    """--vocoder."""
    p.add_argument(
        "--vocoder",
        default="default",
        choices=["default", "fast"],
        help="default: the model's vocoder (HiFi-GAN V1); fast: the fast vocoder a model directory may ship",
    )


def apply_threads(args: argparse.Namespace) -> None:
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)


def add_corpus_filter(p: argparse.ArgumentParser) -> None:
    """--speakers / --exclude speaker globs."""
    p.add_argument(
        "--speakers", nargs="+", help="keep only speakers matching these globs (e.g. 'librispeech_tc100:*0')"
    )
    p.add_argument("--exclude", nargs="+", help="drop speakers matching these globs (e.g. 'fillets_*:unlabeled')")


def add_encoder_options(p: argparse.ArgumentParser, role: str) -> None:
    """--encoder / --dvector: which speaker encoder does `role`."""
    p.add_argument(
        "--encoder",
        default="resemblyzer",
        choices=["resemblyzer", "dvector"],
        help=f"speaker encoder {role}: the pretrained resemblyzer, or our own (--dvector)",
    )
    p.add_argument("--dvector", help="with --encoder dvector: a d-vector directory from `mediumvc export`")


def speaker_encoder(args: argparse.Namespace):
    """The encoder chosen by `add_encoder_options`."""
    from mediumvc.speaker import make_speaker_encoder

    if args.encoder == "dvector":
        if not args.dvector:
            raise MediumVCError(
                "--encoder dvector needs --dvector DIR (a directory exported from `mediumvc train dvector`)"
            )
        from mediumvc.checkpoint import load_part_dir

        return make_speaker_encoder("dvector", load_part_dir(args.dvector, "dvector").net)
    return make_speaker_encoder("resemblyzer")


def scan(args: argparse.Namespace):
    """The utterances of `args.corpus` (one corpus, or a list of them) after `add_corpus_filter`'s globs."""
    from mediumvc.data.corpus import scan_corpus

    corpora = args.corpus if isinstance(args.corpus, list) else [args.corpus]
    found = [u for corpus in corpora for u in scan_corpus(corpus, include=args.speakers, exclude=args.exclude or [])]
    if len({u.uid for u in found}) < len(found):
        raise MediumVCError(f"the corpora {corpora} list the same speaker and file twice: pass each corpus once")
    return found
