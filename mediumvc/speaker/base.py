"""The speaker-encoder interface every encoder implements: recordings of one speaker -> a 256-d unit vector."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import torch

from mediumvc.audio import AudioLike, describe, load_audio
from mediumvc.errors import AudioError

# A d-vector gains little from more than a couple of minutes of speech; longer references are cut
# to their first MAX_REFERENCE_SECONDS so that an hour-long target costs no more than a short one.
MAX_REFERENCE_SECONDS = 120.0


def is_single_recording(x) -> bool:
    """True for one recording (path, array, tensor, (samples, rate)); False for a list of them."""
    if isinstance(x, tuple) and len(x) == 2 and isinstance(x[1], (int, np.integer)):
        return True
    return not isinstance(x, (list, tuple))


class SpeakerEncoder(ABC):
    """Embeds recordings of one speaker into a unit vector of size `dim`.

    Subclasses implement `embed_waveform` on mono float32 audio at `sample_rate`; loading,
    resampling, checking and averaging over several references live here.
    """

    name: str
    dim: int = 256
    sample_rate: int = 16000
    min_seconds: float = 0.1

    @abstractmethod
    def embed_waveform(self, wav: np.ndarray, label: str) -> torch.Tensor:
        """(N,) float32 at `sample_rate` -> (dim,) unit vector on the CPU."""

    def to(self, device: str | torch.device) -> SpeakerEncoder:
        return self

    def embed_utterance(self, recording: AudioLike, name: str | None = None) -> torch.Tensor:
        """One recording (path, (samples, rate) or samples at 22.05 kHz) -> (dim,) unit vector."""
        wav = load_audio(
            recording, sr=self.sample_rate, name=name, min_samples=int(self.min_seconds * self.sample_rate)
        )
        limit = int(MAX_REFERENCE_SECONDS * self.sample_rate)
        return self.embed_waveform(wav[:limit], describe(recording, name))

    def embed(self, recordings: AudioLike | Sequence[AudioLike]) -> torch.Tensor:
        """Recordings of ONE speaker -> (dim,) unit vector: the mean of their embeddings, re-normalised."""
        if is_single_recording(recordings):
            recordings = [recordings]
        if len(recordings) == 0:
            raise AudioError("no target recordings given: pass at least one recording of the target speaker")
        mean = torch.stack([self.embed_utterance(r) for r in recordings]).mean(0)
        return torch.nn.functional.normalize(mean, dim=0)
