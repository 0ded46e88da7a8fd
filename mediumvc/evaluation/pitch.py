"""The judge's pitch: librosa's pYIN (BSD), a tracker independent of the pitch stage's own (`mediumvc.f0`)."""

from __future__ import annotations

import math

import librosa
import numpy as np


def judged_f0(wav: np.ndarray, sr: int, fmin: float = 50.0, fmax: float = 600.0) -> float:
    """Median F0 in Hz over voiced frames; NaN when nothing is voiced."""
    f0, voiced, _ = librosa.pyin(
        wav.astype(np.float32), fmin=fmin, fmax=fmax, sr=sr, frame_length=2048 * sr // 22050 or 2048
    )
    f0 = f0[voiced & np.isfinite(f0)] if voiced is not None else f0[np.isfinite(f0)]
    return float(np.median(f0)) if len(f0) else math.nan


def semitones(f_a: float, f_b: float) -> float:
    """Signed distance a - b in semitones."""
    return 12.0 * math.log2(f_a / f_b) if f_a > 0 and f_b > 0 else math.nan
