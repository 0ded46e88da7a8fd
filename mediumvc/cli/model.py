"""`mediumvc create-model` and `mediumvc export`: model directories."""

from __future__ import annotations

import argparse
from pathlib import Path

from mediumvc.errors import MediumVCError
from mediumvc.stages import STAGES, stage_from_values


def add_parsers(sub) -> None:
    p = sub.add_parser("create-model", help="write a randomly initialised model directory (to test the pipeline)")
    p.add_argument("out", help="model directory to write")
    p.add_argument("--config", default="paper", help="bundled config name (paper, cpu-small, tiny, ...) or a YAML file")
    p.add_argument("--seed", type=int, default=0, help="random seed of the weights")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.set_defaults(func=create_model)

    p = sub.add_parser("export", help="training checkpoint (or model directory) -> inference directory")
    p.add_argument(
        "checkpoint",
        help="a training checkpoint (.ckpt) from `mediumvc train`, or a model directory to write again with "
        "other stages, a content model or a fast vocoder",
    )
    p.add_argument("out", help="model directory to write")
    p.add_argument(
        "--dtype",
        default="fp32",
        choices=["fp32", "fp16"],
        help="storage precision of a MediumVC model (fp16 halves it)",
    )
    p.add_argument("--card", help="Markdown file to ship as the model card (README.md in the directory)")
    for name, stage in STAGES.items():
        fields = stage.fields()
        default = " ".join(f"{getattr(stage(), f):g}" for f in fields)
        p.add_argument(
            f"--{name}",
            nargs="+",
            type=float,
            metavar=" ".join(f.upper() for f in fields),
            help=f"add the {name} stage ({stage.summary}) with these settings, in this order (the last ones may be "
            f"left out); defaults: {default}",
        )
    p.add_argument(
        "--content-model",
        metavar="DIR",
        help="ship this content model (from recipes/content-model), which `--match ... CONTENT` above 0 needs",
    )
    p.add_argument(
        "--fast-vocoder",
        metavar="DIR",
        help="ship this fast vocoder (from recipes/fast-vocoder), offered as `--vocoder fast` beside the default",
    )
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.set_defaults(func=export)

    p = sub.add_parser(
        "export-onnx", help="a model directory's networks and vocoder as ONNX files (for onnxruntime and others)"
    )
    p.add_argument("out", help="folder to write networks.onnx, vocoder.onnx and config.json into")
    p.add_argument("--model", "-m", help="model directory; default: the bundled model")
    p.set_defaults(func=export_onnx)


def create_model(args: argparse.Namespace) -> int:
    import torch

    from mediumvc.checkpoint import save_model_dir
    from mediumvc.config import load_config

    if Path(args.out).exists() and not args.overwrite:
        raise MediumVCError(f"{args.out} exists: pass --overwrite to replace it")
    torch.manual_seed(args.seed)
    config = load_config(args.config)
    card = (
        "# Randomly initialised mediumvc model\n\nUntrained weights (seed "
        f"{args.seed}, config `{args.config}`): it proves the pipeline runs, and outputs noise.\n"
    )
    dvector = None
    if config.speaker_encoder == "dvector":
        from mediumvc.speaker import DVector

        dvector = DVector(config.dvector)
    path = save_model_dir(
        args.out, config, config.build(), dvector, info={"trained_steps": 0, "seed": args.seed}, card=card
    )
    print(f"wrote a randomly initialised model to {path}")
    return 0


def export_onnx(args: argparse.Namespace) -> int:
    from mediumvc.onnx_export import export_onnx as run

    for name, path in run(args.model, args.out).items():
        print(f"wrote {path} ({name})")
    return 0


def export(args: argparse.Namespace) -> int:
    import torch

    from mediumvc.training.export import export as export_checkpoint

    if Path(args.out).exists() and not args.overwrite:
        raise MediumVCError(f"{args.out} exists: pass --overwrite to replace it")
    card = Path(args.card).read_text() if args.card else None
    try:  # in the registry's order: the order they run in
        stages = [stage_from_values(name, getattr(args, name)) for name in STAGES if getattr(args, name)]
    except ValueError as e:
        raise MediumVCError(str(e)) from None
    dtype = torch.float16 if args.dtype == "fp16" else torch.float32
    out = export_checkpoint(
        args.checkpoint,
        args.out,
        dtype=dtype,
        card=card,
        stages=stages or None,
        content=args.content_model,
        fast_vocoder=args.fast_vocoder,
    )
    print(f"exported {out}")
    return 0
