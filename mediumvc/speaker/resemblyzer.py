"""The default speaker encoder: the pretrained GE2E d-vector shipped inside the PyPI package
`resemblyzer` (Apache-2.0; 3-layer LSTM 256, 40-mel at 16 kHz, 256-d output)."""

from __future__ import annotations

import warnings

import numpy as np
import torch

from mediumvc.audio import format_seconds
from mediumvc.errors import AudioError
from mediumvc.speaker.base import SpeakerEncoder


class ResemblyzerEncoder(SpeakerEncoder):
    """Resemblyzer's `VoiceEncoder`: volume normalisation, WebRTC-VAD silence trimming, then the
    average of 1.6 s partial embeddings (its `embed_utterance`)."""

    name = "resemblyzer"

    def __init__(self, device: str | torch.device = "cpu") -> None:
        with warnings.catch_warnings():  # webrtcvad imports the deprecated pkg_resources
            warnings.simplefilter("ignore")
            from resemblyzer import VoiceEncoder, preprocess_wav
        self._preprocess = preprocess_wav
        # Its weights file is a plain state dict; torch >= 2.6 loads it with weights_only=True.
        self._model = VoiceEncoder(device=torch.device(device), verbose=False)

    def to(self, device: str | torch.device) -> ResemblyzerEncoder:
        self._model.to(device)
        self._model.device = torch.device(device)
        return self

    def embed_waveform(self, wav: np.ndarray, label: str) -> torch.Tensor:
        speech = self._preprocess(wav)  # already at 16 kHz: normalise volume, trim long silences
        if len(speech) < int(0.1 * self.sample_rate):
            raise AudioError(
                f"{label}: no speech found ({format_seconds(len(speech) / self.sample_rate)} after voice activity "
                "detection): at least 0.100 s of speech is needed"
            )
        with torch.inference_mode():
            return torch.from_numpy(np.asarray(self._model.embed_utterance(speech), dtype=np.float32))
