"""F0 on the mel's frame grid: our YIN tracker, the median of a contour and of a voice, and moving a contour.

Everything is numpy on the CPU, in blocks so that an hour of audio stays in bounded memory.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mediumvc.audio import N_FFT, SAMPLE_RATE
from mediumvc.mel import framed

F0_MIN = 60.0  # Hz: the tracker's search range
F0_MAX = 500.0
LOWEST = 50.0  # Hz: the search floor for a voice that reads below LOW_VOICE (see `voice_f0`)
LOW_VOICE = 80.0
BLOCK_FRAMES = 2048  # frames per block: bounded memory for hour-long inputs


def _yin_block(frames: np.ndarray, threshold: float = 0.15, f0_min: float = F0_MIN) -> tuple[np.ndarray, np.ndarray]:
    """YIN on frames (t, 1024): (F0 Hz (t,), aperiodicity (t,): the normalised difference at the period)."""
    win = N_FFT // 2
    min_lag, max_lag = int(SAMPLE_RATE / F0_MAX), int(SAMPLE_RATE / f0_min)
    x = frames.astype(np.float64)
    # Difference function d(tau) = sum (x_j - x_{j+tau})^2 over a window of `win`, via FFT autocorrelation.
    spec = np.fft.rfft(x, n=2 * N_FFT, axis=1)
    head = np.fft.rfft(x[:, :win], n=2 * N_FFT, axis=1)
    cross = np.fft.irfft(spec * np.conj(head), axis=1)[:, : max_lag + 1]
    energy = np.cumsum(np.concatenate([np.zeros((len(x), 1)), x**2], axis=1), axis=1)
    lags = np.arange(max_lag + 1)
    e_head = energy[:, win][:, None]
    e_lag = energy[:, lags + win] - energy[:, lags]
    diff = np.maximum(e_head + e_lag - 2 * cross, 0.0)
    # Cumulative mean normalised difference: removes the bias towards lag 0.
    cmnd = np.ones_like(diff)
    running = np.cumsum(diff[:, 1:], axis=1)
    cmnd[:, 1:] = diff[:, 1:] * lags[1:] / np.maximum(running, 1e-12)
    region = cmnd[:, min_lag : max_lag + 1]
    below = region < threshold
    # The first dip under the threshold (the shortest period: avoids octave-down errors), else the minimum.
    first = np.where(below.any(axis=1), below.argmax(axis=1), region.argmin(axis=1))
    # Walk down to the local minimum of that dip.
    idx = first.copy()
    rows = np.arange(len(region))
    for _ in range(max_lag - min_lag):
        nxt = np.minimum(idx + 1, region.shape[1] - 1)
        move = region[rows, nxt] < region[rows, idx]
        if not move.any():
            break
        idx = np.where(move, nxt, idx)
    # Parabolic interpolation around the minimum for a sub-sample period.
    left = region[rows, np.maximum(idx - 1, 0)]
    mid = region[rows, idx]
    right = region[rows, np.minimum(idx + 1, region.shape[1] - 1)]
    denom = left - 2 * mid + right
    shift = np.where(np.abs(denom) > 1e-12, 0.5 * (left - right) / np.where(denom == 0, 1, denom), 0.0)
    period = min_lag + idx + np.clip(shift, -1, 1)
    return SAMPLE_RATE / period, mid


def track_f0(
    wav: np.ndarray, aperiodicity_max: float = 0.5, floor_db: float = -40.0, f0_min: float = F0_MIN
) -> np.ndarray:
    """Waveform (N,) at 22.05 kHz -> F0 in Hz per mel frame (N // 256,); 0 where unvoiced.

    YIN on the mel's frame grid, searching `f0_min` to 500 Hz; a frame is voiced when its normalised difference
    at the period is below `aperiodicity_max` and its level is within `floor_db` of the loudest frame.
    """
    frames = framed(np.asarray(wav, dtype=np.float32))
    return voicing(*analyse_frames(frames, f0_min), aperiodicity_max, floor_db)


def voice_f0(contours: list[np.ndarray], retrack: Callable[[float], list[np.ndarray]]) -> float | None:
    """The median F0 of a voice from its recordings' contours (`track_f0`). Below LOW_VOICE the usual 60 Hz
    search floor reads the voice high (its lowest frames fall outside it), so `retrack(f0_min)` gives the
    contours again searched from LOWEST; higher voices are not searched there (it invites octave-down errors)."""
    f0 = median_f0(np.concatenate(contours)) if contours else None
    return (median_f0(np.concatenate(retrack(LOWEST))) or f0) if reads_low(f0) else f0


def source_contour(wav: np.ndarray) -> np.ndarray:
    """`track_f0` of a source, searched again from LOWEST when its voice reads below LOW_VOICE (as `voice_f0`
    does for a target), so that a very low voice keeps its lowest frames voiced."""
    contour = track_f0(wav)
    return track_f0(wav, f0_min=LOWEST) if reads_low(median_f0(contour)) else contour


def reads_low(f0: float | None) -> bool:
    """Whether a voice's median F0 (None: not enough voiced frames) is low enough to search again from LOWEST."""
    return f0 is not None and f0 < LOW_VOICE


def analyse_frames(frames: np.ndarray, f0_min: float = F0_MIN) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames (t, 1024) on the mel's grid -> YIN's F0 (Hz), aperiodicity and RMS level of each (t,): what
    `voicing` decides from. F0 and aperiodicity do not change with the signal's scale; the level scales with it."""
    f0, aper, rms = np.zeros(len(frames)), np.ones(len(frames)), np.zeros(len(frames))
    for s in range(0, len(frames), BLOCK_FRAMES):  # blocks: an hour's frames in float64 would be 2.5 GB
        block = frames[s : s + BLOCK_FRAMES]
        f0[s : s + BLOCK_FRAMES], aper[s : s + BLOCK_FRAMES] = _yin_block(block, f0_min=f0_min)
        rms[s : s + BLOCK_FRAMES] = np.sqrt(np.mean(block.astype(np.float64) ** 2, axis=1) + 1e-12)
    return f0, aper, rms


def voicing(
    f0: np.ndarray, aper: np.ndarray, rms: np.ndarray, aperiodicity_max: float = 0.5, floor_db: float = -40.0
) -> np.ndarray:
    """`analyse_frames`' output for consecutive frames -> the contour (Hz, 0 = unvoiced), as `track_f0` says."""
    loud = (20 * np.log10(rms / rms.max()) > floor_db) & (rms > 1e-4)  # digital silence is not voiced
    voiced = (aper < aperiodicity_max) & loud & np.isfinite(f0)
    # A 3-frame median over voiced neighbours removes single-frame octave jumps.
    padded = np.pad(np.where(voiced, f0, np.nan), 1, constant_values=np.nan)
    neighbours = np.stack([padded[:-2], padded[1:-1], padded[2:]], axis=1)
    with np.errstate(all="ignore"):
        return np.where(voiced, np.nanmedian(np.where(voiced[:, None], neighbours, 0.0), axis=1), 0.0)


def median_f0(f0: np.ndarray) -> float | None:
    """Median of the voiced frames of a contour from `track_f0` (None when fewer than 10 are voiced)."""
    voiced = f0[f0 > 0]
    return float(np.median(voiced)) if len(voiced) >= 10 else None


def transpose_contour(f0: np.ndarray, source_median: float | None, target_median: float | None) -> np.ndarray:
    """Move a contour so its median becomes `target_median`, keeping its shape in semitones."""
    if not source_median or not target_median:
        return f0
    return np.where(f0 > 0, f0 * (target_median / source_median), 0.0)
