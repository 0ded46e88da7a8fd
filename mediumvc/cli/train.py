"""`mediumvc preprocess`, `precompute-ssif` and `train`: from a corpus to trained networks."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from mediumvc.cli.common import add_corpus_filter, apply_threads


def add_parsers(sub) -> None:
    p = sub.add_parser("preprocess", help="corpus -> feature store (mels, d-vectors, PSDR variants) for training")
    p.add_argument(
        "corpus",
        nargs="+",
        help="folder ROOT/<speaker>/**/*.wav|flac|ogg|mp3, or a manifest TSV with path and speaker columns; "
        "several corpora make one store",
    )
    p.add_argument("out", help="feature store folder (re-running skips finished files and redoes changed ones)")
    add_corpus_filter(p)
    p.add_argument(
        "--encoder",
        default="resemblyzer",
        choices=["resemblyzer", "dvector"],
        help="speaker encoder of the stored d-vectors: the pretrained resemblyzer, or our own (--dvector)",
    )
    p.add_argument("--dvector", help="with --encoder dvector: a d-vector directory from `mediumvc export`")
    p.add_argument(
        "--psdr-variants", type=int, default=0, help="pitch-shifted copies per utterance for SingleVC (e.g. 8)"
    )
    p.add_argument("--psdr-speakers", nargs="+", help="speaker globs that get PSDR variants (default: all)")
    p.add_argument(
        "--psdr-backend", default="rubberband", choices=["rubberband", "sox", "librosa"], help="pitch shifter for PSDR"
    )
    p.add_argument(
        "--psdr-range", type=int, nargs=2, default=[-6, 4], metavar=("LOW", "HIGH"), help="semitones, inclusive"
    )
    p.add_argument(
        "--dvector-mels", action="store_true", help="also store 40-mel features for training our own d-vector"
    )
    p.add_argument("--workers", type=int, default=2, help="processes computing features")
    p.set_defaults(func=preprocess)

    p = sub.add_parser(
        "precompute-ssif", help="run a trained SingleVC once over a feature store, for faster MediumVC training"
    )
    p.add_argument("store", help="feature store folder (from `mediumvc preprocess`)")
    p.add_argument(
        "--singlevc", required=True, help="exported SingleVC directory (the one MediumVC will be trained on)"
    )
    p.add_argument("--out", required=True, help="SSIF folder to write (re-running completes it)")
    p.add_argument("--variants", type=int, default=1, help="SSIF variants per utterance (with --dropout each differs)")
    p.add_argument("--dropout", action="store_true", help="SingleVC's dropout on, as the original trained MediumVC")
    p.add_argument("--seed", type=int, default=0, help="random seed of the dropout")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (a GPU when there is one)")
    p.set_defaults(func=precompute_ssif)

    p = sub.add_parser("train", help="train SingleVC, MediumVC or our d-vector from a feature store")
    p.add_argument("task", choices=["singlevc", "mediumvc", "dvector"], help="which network to train")
    p.add_argument("--config", help="training YAML (see mediumvc/configs/train/)")
    p.add_argument(
        "--set", nargs="+", metavar="KEY=VALUE", help="override config values, e.g. optim.lr=3e-4 trainer.max_steps=500"
    )
    p.add_argument("--out", required=True, help="run folder: checkpoints/ and logs/")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints/last.ckpt")
    p.set_defaults(func=train)


def preprocess(args: argparse.Namespace) -> int:
    from mediumvc.cli.common import scan
    from mediumvc.data.store import StoreSettings
    from mediumvc.data.store import preprocess as run

    settings = StoreSettings(
        encoder=args.encoder,
        psdr_variants=args.psdr_variants,
        psdr_backend=args.psdr_backend,
        psdr_low=args.psdr_range[0],
        psdr_high=args.psdr_range[1],
        psdr_speakers=tuple(args.psdr_speakers or ()),
        dvector_mels=args.dvector_mels,
    )
    summary = run(scan(args), args.out, settings, workers=args.workers, dvector_dir=args.dvector)
    print(
        f"{args.out}: {summary['items']} utterances ({summary['computed']} computed, {summary['skipped_unchanged']} unchanged, "
        f"{summary['failed']} failed"
        + (f", listed in {Path(args.out) / 'failures.tsv'})" if summary["failed"] else ")")
    )
    return 0


def precompute_ssif(args: argparse.Namespace) -> int:
    from mediumvc.training.ssif import precompute_ssif as run

    apply_threads(args)
    summary = run(
        args.store,
        args.singlevc,
        args.out,
        variants=args.variants,
        dropout=args.dropout,
        seed=args.seed,
        device=args.device,
    )
    print(
        f"{summary['out']}: SSIF of {summary['items']} utterances ({summary['computed']} computed, "
        f"{summary['skipped_existing']} already there); train MediumVC with --set data.ssif={summary['out']}"
    )
    return 0


def train(args: argparse.Namespace) -> int:
    from mediumvc.training.train import load_train_config
    from mediumvc.training.train import train as run

    last = run(args.task, load_train_config(args.config, args.set or []), args.out, resume=args.resume)
    if os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0":  # DDP: say it once
        print(f"training stopped; last checkpoint: {last}")
    return 0
