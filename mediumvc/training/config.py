"""Training configs: one YAML describes a run (see `mediumvc.training.train`); `base: NAME` makes a file
a delta of another, and `--set key=value` overrides single values."""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mediumvc.config import ModelConfig, load_config, read_yaml, strict
from mediumvc.errors import MediumVCError
from mediumvc.training.data import DataConfig
from mediumvc.training.tasks import LossConfig, OptimConfig

TASKS = ("singlevc", "mediumvc", "dvector")


@dataclass
class TrainerConfig:
    max_steps: int = 10000
    precision: str = "32-true"  # or "bf16-mixed" (fast only on GPUs / CPUs with AVX-512 BF16 or AMX)
    val_every: int = 500
    val_batches: int = 4
    ckpt_every: int = 500
    keep_last: int = 3
    log_every: int = 20
    seed: int = 0
    num_workers: int = 0
    threads: int | None = None
    accelerator: str = "auto"
    devices: Any = 1
    num_nodes: int = 1
    strategy: str = "auto"
    singlevc_dropout: bool = True  # the original's behaviour (see MediumVCTask)
    samples: bool = True  # vocode one validation item per validation into OUT/samples and TensorBoard


@dataclass
class TrainConfig:
    model: Any = "cpu-small"
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    singlevc: str | None = None
    init: str | None = None
    dvector: str | None = None  # MediumVC with our own d-vector: its exported directory (the store embedded with it)

    def model_config(self) -> ModelConfig:
        config = load_config(self.model) if isinstance(self.model, str) else ModelConfig.from_dict(self.model)
        from mediumvc.checkpoint import read_part_config  # sizes only: this runs several times per run

        if config.singlevc is not None and self.singlevc not in (
            None,
            "untrained",
        ):  # a trained SingleVC brings its own sizes
            config = dataclasses.replace(config, singlevc=read_part_config(self.singlevc, "singlevc"))
        if self.dvector:
            config = dataclasses.replace(
                config, speaker_encoder="dvector", dvector=read_part_config(self.dvector, "dvector")
            )
        return config

    def detail_warp(self, task: str) -> tuple[float, float] | None:
        """data.detail_warp when a MediumVC with `source_detail` trains (its batches then carry detail mels)."""
        model = self.model_config().mediumvc if task == "mediumvc" else None
        if model is None or not model.source_detail:
            return None
        warp = self.data.detail_warp
        if not (isinstance(warp, (list, tuple)) and len(warp) == 2 and 0 < warp[0] <= warp[1]):
            raise MediumVCError(
                f"data.detail_warp must be [low, high] with 0 < low <= high (e.g. [0.85, 1.2]), not {warp}"
            )
        return float(warp[0]), float(warp[1])


def _set(obj: dict, dotted: str, value: str) -> None:
    *parents, leaf = dotted.split(".")
    for p in parents:
        obj = obj.setdefault(p, {})
    obj[leaf] = yaml.safe_load(value)


def _numbers(obj):
    """YAML 1.1 reads 1e-3 (no dot) as a string: make such strings floats, in files and --set alike."""
    if isinstance(obj, dict):
        return {k: _numbers(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_numbers(v) for v in obj]
    if isinstance(obj, str) and re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+", obj):
        return float(obj)
    return obj


def load_train_config(path: str | Path | None, overrides: list[str] = ()) -> TrainConfig:
    """A run's config: the YAML file (`base:` resolved) with `--set` overrides, checked strictly."""
    raw: dict = {}
    if path:
        try:
            raw = read_yaml(Path(path))
        except (OSError, ValueError, yaml.YAMLError) as e:
            raise MediumVCError(f"training config {path}: {str(e).splitlines()[0]}") from None
    for item in overrides:
        if "=" not in item:
            raise MediumVCError(f"--set expects key=value (e.g. optim.lr=3e-4), got {item!r}")
        _set(raw, *item.split("=", 1))
    raw = _numbers(raw)
    sections = {"data": DataConfig, "optim": OptimConfig, "loss": LossConfig, "trainer": TrainerConfig}
    kw: dict[str, Any] = {}
    for key, value in raw.items():
        if key in sections:
            try:
                kw[key] = strict(sections[key], value, f"training config section '{key}'")
            except ValueError as e:
                raise MediumVCError(str(e)) from None
        elif key in ("model", "singlevc", "init", "dvector"):
            kw[key] = value
        else:
            raise MediumVCError(
                f"unknown training config section {key!r} (model, data, optim, loss, trainer, singlevc, init, dvector)"
            )
    config = TrainConfig(**kw)
    config.data.store = os.path.expanduser(config.data.store)
    config.data.ssif = os.path.expanduser(config.data.ssif)
    if config.singlevc not in (None, "untrained"):
        config.singlevc = os.path.expanduser(config.singlevc)
    if config.init:
        config.init = os.path.expanduser(config.init)
    if config.dvector:
        config.dvector = os.path.expanduser(config.dvector)
    return config
