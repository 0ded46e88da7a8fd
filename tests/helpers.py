"""Helpers shared by the tests: synthetic audio and small model directories."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch


def voiced(seconds: float = 1.0, sr: int = 22050, f0: float = 140.0, seed: int = 0) -> np.ndarray:
    """A speech-like test signal: a harmonic tone with a syllable-rate envelope and a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    wave = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 12))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2
    return (0.3 * wave * envelope / 3 + 0.005 * rng.standard_normal(len(t))).astype(np.float32)


def with_config_section(model_dir: Path, dest: Path, section: str, value: dict) -> Path:
    """A copy of `model_dir` at `dest` whose config.json has `model.<section>` replaced by `value`."""
    dest.mkdir(parents=True, exist_ok=True)
    raw = json.loads((model_dir / "config.json").read_text())
    raw["model"][section] = value
    (dest / "config.json").write_text(json.dumps(raw))
    shutil.copyfile(model_dir / "model.safetensors", dest / "model.safetensors")
    return dest


def save_tiny_model(dest: Path, *stages) -> Path:
    """A randomly initialised (seed 0) model directory of the 'tiny' config at `dest`, with the
    post-network stages given (e.g. DetailStage(...)) in its config: proves the path, not quality."""
    import dataclasses

    from mediumvc.checkpoint import save_model_dir
    from mediumvc.config import load_config

    torch.manual_seed(0)
    config = dataclasses.replace(load_config("tiny"), stages=tuple(stages))
    return save_model_dir(dest, config, config.build())
