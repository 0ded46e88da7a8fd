"""Speaker encoders: recordings of one speaker -> a 256-d unit d-vector."""

from __future__ import annotations

import torch

from mediumvc.speaker.base import SpeakerEncoder
from mediumvc.speaker.dvector import DVector, DVectorConfig, DVectorEncoder, Wav2Mel
from mediumvc.speaker.ge2e import GE2ELoss


def make_speaker_encoder(
    name: str, dvector: DVector | None = None, device: str | torch.device = "cpu"
) -> SpeakerEncoder:
    """'resemblyzer' -> the pretrained encoder from its package; 'dvector' -> our own, from `dvector`'s weights."""
    if name == "resemblyzer":
        from mediumvc.speaker.resemblyzer import ResemblyzerEncoder

        return ResemblyzerEncoder(device)
    if name == "dvector":
        if dvector is None:
            raise ValueError("the 'dvector' speaker encoder needs trained DVector weights")
        return DVectorEncoder(dvector, device)
    raise ValueError(f"unknown speaker encoder {name!r}: use 'resemblyzer' or 'dvector'")


__all__ = [
    "SpeakerEncoder",
    "DVector",
    "DVectorConfig",
    "DVectorEncoder",
    "Wav2Mel",
    "GE2ELoss",
    "make_speaker_encoder",
]
