"""Train the content model on a folder from prepare.py, resuming from OUT/last.pt, then export it.

    python recipes/content-model/train.py DATA OUT [--steps 20000] [--threads 1] [--export DIR]

OUT/log.jsonl: frame accuracy on the held-out speakers against pocketsphinx's labels, clean and on
+4 / -6 semitone and formant-warped copies, every `--eval-every` steps.
"""

from __future__ import annotations

import argparse
import sys

import torch

from mediumvc.checkpoint import save_part_dir
from mediumvc.content.training import ContentTrainConfig, train_content_model


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--eval-every", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--export", help="also write the trained model as a part directory here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    config = ContentTrainConfig(steps=args.steps, batch=args.batch, eval_every=args.eval_every)
    ckpt = train_content_model(args.data, args.out, config, log=lambda line: print(line, flush=True))
    if args.export:
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        print(
            f"exported {save_part_dir(args.export, 'content', config.model, state['model'], info={'steps': state['step']})}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
