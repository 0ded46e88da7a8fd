"""`Vocoder`: the role every generator plays, so `MelVocoder` and the model directory can hold any of them."""

from __future__ import annotations

import torch
from torch import nn

from mediumvc.audio import HOP_LENGTH


class Vocoder(nn.Module):
    """Log-magnitude mel (B, 80, T) -> waveform (B, 1, T * 256) in [-1, 1], at 22.05 kHz.

    context_frames: mel frames on each side of a frame that still change its samples; vocoding in pieces with
        this much context on both sides gives the same waveform as vocoding the whole mel.
    """

    context_frames: int = 16

    def for_cpu(self) -> Vocoder:
        """The same function in the layout that runs fastest on CPU (called once, for inference)."""
        return self

    def region(self, mel: torch.Tensor, start: int, end: int) -> torch.Tensor:
        """The samples of frames [start, end) only: (B, 80, T) -> (B, 1, (end - start) * 256), equal to
        `self(mel)[..., start * 256 : end * 256]`. Generators may compute less to get them."""
        return self(mel)[..., start * HOP_LENGTH : end * HOP_LENGTH]
