"""The judge's pitch: librosa's pYIN (BSD), a tracker independent of the pitch stage's own (`mediumvc.f0`)."""

from __future__ import annotations

import math

import librosa
import numpy as np

SPEECH_FLOOR_DB = 30.0  # frames this far below the loud speech (95th percentile of frame level) are pauses


def judged_f0(wav: np.ndarray, sr: int, fmin: float = 50.0, fmax: float = 600.0) -> float:
    """Median F0 in Hz over voiced speech frames; NaN when nothing is voiced.

    Only frames within SPEECH_FLOOR_DB of the loud speech count: a quiet periodic hum in the pauses (a vocoder's
    or a recording's) is not the voice's pitch."""
    wav = wav.astype(np.float32)
    frame = 2048 * sr // 22050 or 2048
    f0, voiced, _ = librosa.pyin(wav, fmin=fmin, fmax=fmax, sr=sr, frame_length=frame)
    level = librosa.feature.rms(y=wav, frame_length=frame, hop_length=frame // 4)[0][: len(f0)]
    speech = level >= np.percentile(level, 95) * 10 ** (-SPEECH_FLOOR_DB / 20)
    keep = voiced & np.isfinite(f0) & speech[: len(f0)] if voiced is not None else np.isfinite(f0) & speech
    return float(np.median(f0[keep])) if keep.any() else math.nan


def semitones(f_a: float, f_b: float) -> float:
    """Signed distance a - b in semitones."""
    return 12.0 * math.log2(f_a / f_b) if f_a > 0 and f_b > 0 else math.nan
