"""Widen an exported fast vocoder without changing what it computes, to train on from where it stands.

    python recipes/fast-vocoder/widen.py EXPORT OUT [--factor 2] [--noise 0.01]

Every channel of the backbone (and of each block's intermediate layer) is copied `--factor` times
(`mediumvc.vocoder.istft.widened_state`): the output is the same. A little noise (`--noise`, relative to each weight's scale)
lets the copies part when training resumes; `--noise 0` keeps the function exact.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import torch

from mediumvc.checkpoint import load_part_dir, save_part_dir
from mediumvc.vocoder.istft import ISTFTVocoder, widened_state


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("export")
    ap.add_argument("out")
    ap.add_argument("--factor", type=int, default=2)
    ap.add_argument("--noise", type=float, default=0.01)
    args = ap.parse_args()
    part = load_part_dir(args.export, "vocoder")
    config = dataclasses.replace(
        part.config, dim=part.config.dim * args.factor, intermediate=part.config.intermediate * args.factor
    )
    state = widened_state(part.net.state_dict(), args.factor)
    generator = torch.Generator().manual_seed(0)
    noisy = lambda t: t + args.noise * t.std() * torch.randn(t.shape, generator=generator) if t.numel() > 1 else t
    state = {k: noisy(v) for k, v in state.items()}
    info = {**part.info, "widened": f"x{args.factor} from {args.export}"}
    print(f"exported {save_part_dir(args.out, 'vocoder', config, state, info=info)}")
    ISTFTVocoder(config).load_state_dict(state)  # the shapes fit the new sizes
    return 0


if __name__ == "__main__":
    sys.exit(main())
