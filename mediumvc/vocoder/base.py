"""`Vocoder`: the role every generator plays, so `MelVocoder` and the model directory can hold any of them."""

from __future__ import annotations

from torch import nn


class Vocoder(nn.Module):
    """Log-magnitude mel (B, 80, T) -> waveform (B, 1, T * 256) in [-1, 1], at 22.05 kHz.

    context_frames: mel frames on each side of a frame that still change its samples; vocoding in pieces with
        this much context on both sides gives the same waveform as vocoding the whole mel.
    """

    context_frames: int = 16

    def for_cpu(self) -> Vocoder:
        """The same function in the layout that runs fastest on CPU (called once, for inference)."""
        return self
