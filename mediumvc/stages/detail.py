"""The source-detail stage: the source's fast envelope changes added to the converted mel.

The networks keep the source's timing frame for frame but smooth what changes fast (consonant onsets,
bursts, formant transitions). This stage adds `gain` x (the source's normalised log-mel minus its own
moving average over `frames` frames): the envelope's changes faster than about 86 / `frames` Hz. Slow
changes, where a voice's timbre lives, stay the networks'.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mediumvc.mel import fast_changes
from mediumvc.stages.base import Stage, StageContext


@dataclass(frozen=True)
class DetailStage(Stage):
    """gain: weight of the source's fast changes; frames: odd moving-average length that defines "fast"."""

    name = "detail"
    summary = "the source's fast envelope changes (consonant onsets) added back"

    gain: float = 0.5
    frames: int = 13

    def __post_init__(self) -> None:
        if not 0 < self.gain <= 2:
            raise ValueError(f"detail.gain must be in (0, 2], not {self.gain}")
        if not (3 <= self.frames <= 63 and self.frames % 2 == 1):
            raise ValueError(f"detail.frames must be odd, 3..63, not {self.frames}")

    def __call__(self, mel: torch.Tensor, context: StageContext) -> torch.Tensor:
        return add_source_detail(mel, context.source_mel, self)


def add_source_detail(converted: torch.Tensor, source_mel: torch.Tensor, settings: DetailStage) -> torch.Tensor:
    """Converted (T, 80) + gain x the source mel's (T, 80) fast changes, kept in the normalised [0, 1]."""
    if converted.shape != source_mel.shape:
        raise ValueError(
            f"source detail needs frame-aligned mels, got {tuple(converted.shape)} and {tuple(source_mel.shape)}"
        )
    return (converted + settings.gain * fast_changes(source_mel.to(converted.device), settings.frames)).clamp(0.0, 1.0)
