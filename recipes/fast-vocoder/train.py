"""Distil the fast vocoder from HiFi-GAN V1 on a folder from prepare.py, resuming from OUT/last.pt, then export it.

    python recipes/fast-vocoder/train.py DATA OUT [--steps 50000] [--threads 1] [--set dim=384 ...] [--export DIR]
        [--init PART_DIR] [--minutes M] [--device cuda] [--complex 0.5] [--phase W] [--adversarial W]

OUT/log.jsonl: the loss terms, and on the held-out items the loss and PESQ-wb against the teacher, every
`--eval-every` steps. The exported directory ships in a model directory with
`mediumvc export MODEL_DIR OUT --fast-vocoder DIR`.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import torch

from mediumvc.checkpoint import load_part_dir, read_part_config, save_part_dir
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
    ap.add_argument(
        "--complex", type=float, default=DistillConfig.complex, help="weight of the complex-STFT (phase) term"
    )
    ap.add_argument(
        "--phase", type=float, default=DistillConfig.phase, help="weight of the phase terms on the student's frames"
    )
    ap.add_argument("--eval-every", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--set", nargs="*", default=[], metavar="SIZE=N", help="generator sizes, e.g. dim=384")
    ap.add_argument("--export", help="also write the trained vocoder as a part directory here")
    ap.add_argument("--init", help="start a new run from this exported vocoder, at its sizes")
    ap.add_argument("--minutes", type=float, help="time box: stop after this long, the learning rate decayed")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sizes = {k: int(v) for k, v in (s.split("=", 1) for s in args.set)}
    model = dataclasses.replace(ISTFTVocoderConfig(), **sizes)
    init = None
    if args.init and args.set:
        ap.error("--init takes its sizes from the exported vocoder: drop --set")
    if args.init:
        model = read_part_config(args.init, "vocoder")
        init = load_part_dir(args.init, "vocoder").net.state_dict()
    config = DistillConfig(
        model=model,
        steps=args.steps,
        batch=args.batch,
        lr=args.lr,
        adversarial=args.adversarial,
        complex=args.complex,
        phase=args.phase,
        eval_every=args.eval_every,
    )
    seconds = args.minutes * 60 if args.minutes else None
    log = lambda line: print(line, flush=True)
    ckpt = distill(args.data, args.out, config, log=log, device=args.device, init=init, seconds=seconds)
    if args.export:
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        info = {"steps": state["step"], "teacher": "HiFi-GAN V1 universal"}
        print(f"exported {save_part_dir(args.export, 'vocoder', config.model, state['model'], info=info)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
