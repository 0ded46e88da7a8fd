"""Distil the fast vocoder from HiFi-GAN V1 on a folder from prepare.py, resuming from OUT/last.pt, then export it.

    python recipes/fast-vocoder/train.py DATA OUT [--steps 50000] [--threads 1] [--set dim=384 ...] [--export DIR]

OUT/log.jsonl: the loss terms, and on the held-out items the loss and PESQ-wb against the teacher, every
`--eval-every` steps. The exported directory ships in a model directory with
`mediumvc export MODEL_DIR OUT --fast-vocoder DIR`.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import torch

from mediumvc.checkpoint import save_part_dir
from mediumvc.vocoder.distill import DistillConfig, distill
from mediumvc.vocoder.istft import ISTFTVocoderConfig


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=50000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument(
        "--adversarial", type=float, default=0.0, help="weight of the spectrogram discriminator's terms (0 = none)"
    )
    ap.add_argument("--eval-every", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--set", nargs="*", default=[], metavar="SIZE=N", help="generator sizes, e.g. dim=384")
    ap.add_argument("--export", help="also write the trained vocoder as a part directory here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sizes = {k: int(v) for k, v in (s.split("=", 1) for s in args.set)}
    model = dataclasses.replace(ISTFTVocoderConfig(), **sizes)
    config = DistillConfig(
        model=model,
        steps=args.steps,
        batch=args.batch,
        lr=args.lr,
        adversarial=args.adversarial,
        eval_every=args.eval_every,
    )
    ckpt = distill(args.data, args.out, config, log=lambda line: print(line, flush=True), device=args.device)
    if args.export:
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        info = {"steps": state["step"], "teacher": "HiFi-GAN V1 universal"}
        print(f"exported {save_part_dir(args.export, 'vocoder', config.model, state['model'], info=info)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
