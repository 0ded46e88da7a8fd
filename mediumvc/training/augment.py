"""Training-time changes of a mel that keep its words: pitch shifts of a crop (online PSDR) and formant warps."""

from __future__ import annotations

import functools

import numpy as np
import torch

# Audio around a crop that is shifted with it (4 frames each side), so the shifter's edge effects
# and the STFT's padding fall outside the frames that are kept.
PSDR_CONTEXT_FRAMES = 4


class OnlinePSDR:
    """A crop of an utterance, pitch-shifted now: (item, frames slice, semitones) -> (frames, 80) mel.

    The audio is peak-normalised as a whole (as the store's mel was), the crop plus context is
    shifted, and the kept frames line up with the stored mel's frames (shift 0 gives them back).
    """

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self._mel = None  # built in the process that uses it (DataLoader workers fork)

    def __call__(self, item: dict, window: slice, semitones: int) -> np.ndarray:
        from mediumvc.audio import HOP_LENGTH, SAMPLE_RATE, load_audio, peak_normalize
        from mediumvc.mel import MelSpectrogram, normalize_mel
        from mediumvc.psdr import pitch_shift

        if semitones == 0:
            return item["mel"][window]
        if self._mel is None:
            self._mel = MelSpectrogram()
        wav = peak_normalize(load_audio(item["source"], min_samples=HOP_LENGTH * 2))
        context = PSDR_CONTEXT_FRAMES * HOP_LENGTH
        a = max(0, window.start * HOP_LENGTH - context)
        b = min(len(wav), window.stop * HOP_LENGTH + context)
        shifted = pitch_shift(wav[a:b], SAMPLE_RATE, semitones, self.backend)
        with torch.inference_mode():
            mel = normalize_mel(self._mel(torch.from_numpy(shifted))).numpy()
        first = (window.start * HOP_LENGTH - a) // HOP_LENGTH
        return mel[first : first + window.stop - window.start]


@functools.cache
def _mel_centres() -> np.ndarray:
    import librosa

    from mediumvc.audio import F_MAX, F_MIN, N_MELS

    return librosa.mel_frequencies(N_MELS + 2, fmin=F_MIN, fmax=F_MAX)[1:-1]


def warp_mel(mel: np.ndarray, alpha: float) -> np.ndarray:
    """(T, 80) normalised log-mel -> the same with every frequency scaled by `alpha` (> 1: formants
    up, as from a shorter vocal tract). Read off the bins' centre frequencies; the edges are held."""
    centres = _mel_centres()
    src = np.interp(centres / alpha, centres, np.arange(len(centres)))
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, len(centres) - 1)
    w = (src - lo).astype(np.float32)
    return (mel[:, lo].astype(np.float32) * (1 - w) + mel[:, hi].astype(np.float32) * w).astype(mel.dtype)
