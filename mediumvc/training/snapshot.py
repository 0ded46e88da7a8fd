"""Checkpoints of the plain training loops (content model, fast vocoder): one file holding each part's state
(network, optimiser, schedule, ...), the step and the run's settings, written atomically and read weights-only."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import torch

from mediumvc.files import atomic_write


def write_snapshot(path: str | os.PathLike, step: int, config, parts: dict) -> Path:
    """Save `parts` (name -> anything with `state_dict()`) with the step and the config dataclass."""
    snapshot = {name: part.state_dict() for name, part in parts.items()}
    snapshot.update(step=step, config=json.dumps(dataclasses.asdict(config)))
    return atomic_write(path, lambda tmp: torch.save(snapshot, tmp))


def read_snapshot(path: str | os.PathLike, device: str | torch.device = "cpu") -> dict:
    """A checkpoint's contents ({} when there is none yet); tensors and plain containers only."""
    path = Path(path)
    return torch.load(path, map_location=device, weights_only=True) if path.is_file() else {}


def restore(snapshot: dict, parts: dict) -> int:
    """Load each part's state from a snapshot (every part must be in it); returns its step."""
    for name, part in parts.items():
        part.load_state_dict(snapshot[name])
    return int(snapshot["step"])
