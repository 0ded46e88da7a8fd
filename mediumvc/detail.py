"""The source-detail stage (not in the paper): the source's fast envelope changes on the converted mel.

SingleVC and MediumVC keep the source's timing frame for frame, but they smooth what changes fast:
consonant onsets, bursts, formant transitions. An L1-trained mel regressor averages these away, and many
of the words go with them (the bundled SingleVC's output has WER 0.41 even on its own voice; see
recipes/bundled-model/README.md). This stage adds back `gain` x (the source's normalised log-mel minus
its own moving average over `frames` frames): the envelope's changes faster than about 86 / `frames` Hz
(hop 256 at 22.05 kHz). Slow changes, where a voice's timbre lives, stay the networks'. It runs before
the pitch stage, whose envelope lifter then drops the source's harmonics that ride along.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DetailSettings:
    """Stored in a model's config.json under "detail". Defaults: the best of a sweep on held-out pairs."""

    gain: float = 0.5
    frames: int = 13

    def __post_init__(self) -> None:
        if not 0 < self.gain <= 2:
            raise ValueError(f"detail.gain must be in (0, 2], not {self.gain}")
        if not (3 <= self.frames <= 63 and self.frames % 2 == 1):
            raise ValueError(f"detail.frames must be odd, 3..63, not {self.frames}")


def fast_changes(mel: torch.Tensor, frames: int) -> torch.Tensor:
    """(..., T, 80) -> the same minus its centred moving average over `frames` frames (edges held)."""
    half = frames // 2
    flat = mel.reshape(-1, *mel.shape[-2:]).transpose(1, 2).float()  # (N, 80, T)
    smooth = torch.nn.functional.avg_pool1d(torch.nn.functional.pad(flat, (half, half), mode="replicate"), frames, stride=1)
    return mel - smooth.transpose(1, 2).reshape(mel.shape).to(mel.dtype)


def add_source_detail(converted: torch.Tensor, source_mel: torch.Tensor, settings: DetailSettings) -> torch.Tensor:
    """Converted (T, 80) + gain x the source mel's (T, 80) fast changes, kept in the normalised [0, 1]."""
    if converted.shape != source_mel.shape:
        raise ValueError(f"source detail needs frame-aligned mels, got {tuple(converted.shape)} and {tuple(source_mel.shape)}")
    return (converted + settings.gain * fast_changes(source_mel.to(converted.device), settings.frames)).clamp(0.0, 1.0)
