"""Post-network stages: signal processing on the converted mel, listed in order in a model's config.

Each stage is a `Stage` (see `base.py`): frozen settings that are also the function
`(mel (T, 80), StageContext) -> mel (T, 80)`. `STAGES` maps config names to classes, in the order a model
exported with several of them applies them.
"""

from __future__ import annotations

from typing import Any

from mediumvc.stages.base import Stage, StageContext
from mediumvc.stages.detail import DetailStage
from mediumvc.stages.match import MatchStage
from mediumvc.stages.pitch import PitchStage

STAGES: dict[str, type[Stage]] = {cls.name: cls for cls in (MatchStage, DetailStage, PitchStage)}


def stage_from_dict(raw: dict[str, Any]) -> Stage:
    """{"name": NAME, settings...} -> that stage; unknown names and keys are errors (ValueError)."""
    if not isinstance(raw, dict) or "name" not in raw:
        raise ValueError(f"a stage must be a mapping with a 'name', got {raw!r}")
    settings = dict(raw)
    name = settings.pop("name")
    if name not in STAGES:
        raise ValueError(f"unknown stage {name!r}; known: {sorted(STAGES)}")
    cls = STAGES[name]
    unknown = sorted(set(settings) - set(cls.fields()))
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in stage {name!r}; known: {cls.fields()}")
    return cls(**settings)


def stage_from_values(name: str, values: list[float]) -> Stage:
    """A stage from its settings in field order, as the CLI's `export --NAME V1 V2 ...` gives them; settings
    left out at the end keep their defaults."""
    cls = STAGES[name]
    if len(values) > len(cls.fields()):
        raise ValueError(f"--{name} takes at most {len(cls.fields())} values ({' '.join(cls.fields())}), got {values}")
    types = {f: type(getattr(cls(), f)) for f in cls.fields()}
    return cls(**{f: types[f](v) for f, v in zip(cls.fields(), values)})


__all__ = [
    "STAGES",
    "Stage",
    "StageContext",
    "MatchStage",
    "DetailStage",
    "PitchStage",
    "stage_from_dict",
    "stage_from_values",
]
