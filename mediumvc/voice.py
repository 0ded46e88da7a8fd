"""`TargetVoice`: what the converter keeps of a target speaker."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TargetVoice:
    """A target speaker, as the networks and the post-network stages use it.

    dvector: (dim,) unit speaker embedding.
    f0: median F0 (Hz) of the target's voiced speech, when a stage needs it; None = unknown.
    frames: (U, 80) normalised mel frames of the recordings, when a stage needs them; None = not kept.
    content: (U, D) content embeddings of `frames`, row for row, when a stage matches by content; `frames`
        then holds the recordings' speech frames only.
    A stage whose target information is None passes the mel through unchanged.
    """

    dvector: torch.Tensor
    f0: float | None = None
    frames: torch.Tensor | None = None
    content: torch.Tensor | None = None
