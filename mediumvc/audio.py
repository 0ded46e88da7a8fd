"""Audio in and out: `load_audio`, the one door in, and `save_wav`.

Everything inside the toolkit is mono float32 at 22,050 Hz. `load_audio` is the one door in:
it reads any file soundfile or librosa can decode (wav, flac, ogg, mp3, ...), any rate, any
channel count, ints or floats, and turns every way a recording can be unusable into an
`AudioError` with a one-line message.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
import torch

from mediumvc.errors import AudioError
from mediumvc.files import atomic_write

SAMPLE_RATE = 22050
N_FFT = 1024
HOP_LENGTH = 256
WIN_LENGTH = 1024
N_MELS = 80
F_MIN = 0.0
F_MAX = 8000.0
PEAK = 0.95  # the original peak-normalises every waveform to 0.95 before its mel
LOG_FLOOR = math.log(1e-5)  # ln of the magnitude clamp: silence in the log-mel domain
SILENCE_PEAK = 10 ** (-60 / 20)  # a recording whose peak is below -60 dBFS holds no speech

# What callers may hand us: a path, a (samples, rate) pair, or bare samples at SAMPLE_RATE.
AudioLike = str | os.PathLike | tuple | np.ndarray | torch.Tensor


def format_seconds(seconds: float) -> str:
    """A duration as people say it: '0.012 s', '4.2 s', '2.5 min', '1.25 h'."""
    if seconds < 1:
        return f"{seconds:.3f} s"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def describe(source: AudioLike, name: str | None = None) -> str:
    """How error messages call an input: its given name, its path, or 'input audio'."""
    if name:
        return name
    return str(source) if isinstance(source, (str, os.PathLike)) else "input audio"


def _as_float(samples: np.ndarray) -> np.ndarray:
    """Integer PCM -> float in [-1, 1]; floats pass through as float32."""
    if np.issubdtype(samples.dtype, np.integer):
        info = np.iinfo(samples.dtype)
        if info.min == 0:  # unsigned (8-bit WAV): centre it
            return ((samples.astype(np.float64) - (info.max + 1) / 2) / ((info.max + 1) / 2)).astype(np.float32)
        return (samples.astype(np.float64) / -float(info.min)).astype(np.float32)
    if not np.issubdtype(samples.dtype, np.floating):
        raise AudioError(f"unsupported sample type {samples.dtype}: pass integer PCM or floats")
    return samples.astype(np.float32, copy=False)


def _to_mono(samples: np.ndarray, label: str) -> np.ndarray:
    """(N,), (N, C) or (C, N) with C <= 16 -> (N,). Channels are averaged."""
    if samples.ndim == 1:
        return samples
    if samples.ndim != 2:
        raise AudioError(f"{label}: expected a 1-D or 2-D (samples x channels) array, got shape {samples.shape}")
    channels_first = samples.shape[0] < samples.shape[1] and samples.shape[0] <= 16
    return samples.mean(axis=0 if channels_first else 1)


def audio_duration(path: str | os.PathLike) -> float | None:
    """Duration in seconds from the file header without decoding it, or None if unknown."""
    try:
        return sf.info(str(path)).duration
    except Exception:
        return None


def probe_audio(
    path: str | os.PathLike, label: str | None = None, max_seconds: float | None = None, decode_unknown: bool = True
) -> None:
    """The checks before decoding: the file exists, is a file, is not empty, its format is readable and (when
    its duration is known) it is not longer than `max_seconds`. An `AudioError` otherwise. A format libsndfile
    cannot read is decoded to find out, unless `decode_unknown` is False (the caller decodes it next anyway)."""
    path = Path(path)
    label = label or str(path)
    if not path.exists():
        raise AudioError(f"{label}: no such file")
    if path.is_dir():
        raise AudioError(f"{label} is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{label} is empty (0 bytes)")
    duration = audio_duration(path)
    if duration is None and decode_unknown:  # not a format libsndfile reads: ask the decoder librosa falls back on
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                duration = librosa.get_duration(path=str(path))
        except Exception:
            raise AudioError(
                f"{label} could not be decoded as audio (not an audio file, truncated, or an unsupported "
                "format; wav/flac/ogg/mp3 work)"
            ) from None
    if max_seconds is not None and duration is not None and duration > max_seconds:
        raise AudioError(
            f"{label} is {format_seconds(duration)} long, above the limit of {format_seconds(max_seconds)}: "
            "split it (e.g. `sox in.wav out.wav trim 0 3600 : newfile : restart`) or raise --max-seconds"
        )


def _read_file(path: Path, label: str, max_seconds: float | None) -> tuple[np.ndarray, int]:
    probe_audio(path, label, max_seconds, decode_unknown=False)
    try:
        samples, sr = sf.read(str(path), dtype="float32", always_2d=True)
        return (samples[:, 0] if samples.shape[1] == 1 else samples.mean(axis=1)), sr
    except Exception as sf_error:  # not a format libsndfile knows: try librosa's audioread path
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                samples, sr = librosa.load(str(path), sr=None, mono=True)
            return samples, int(sr)
        except Exception:
            reason = str(sf_error).splitlines()[0] if str(sf_error) else type(sf_error).__name__
            raise AudioError(
                f"{label} could not be decoded as audio (not an audio file, truncated, or an unsupported "
                f"format; wav/flac/ogg/mp3 work): {reason}"
            ) from None


def load_audio(
    source: AudioLike,
    sr: int = SAMPLE_RATE,
    *,
    name: str | None = None,
    min_samples: int = 1,
    max_seconds: float | None = None,
    allow_silence: bool = False,
) -> np.ndarray:
    """Load a recording as mono float32 at `sr` Hz and check that it can be used.

    Args:
        source: a file path; a ``(samples, rate)`` tuple; or samples already at 22,050 Hz as a
            numpy array or tensor of shape (N,), (N, C) or (C, N). Integer PCM is scaled to [-1, 1].
        sr: the rate to return.
        name: how to call the input in error messages (defaults to its path).
        min_samples: fewest samples accepted, counted at `sr`.
        max_seconds: longest duration accepted (checked from the header before decoding).
        allow_silence: accept a recording whose peak is below -60 dBFS.

    Returns:
        (N,) float32 array at `sr` Hz, not normalised, never sharing memory with `source`.

    Raises:
        AudioError: unreadable, empty, NaN/inf, too short, too long, or silent input.
    """
    label = describe(source, name)
    if isinstance(source, (str, os.PathLike)):
        samples, source_sr = _read_file(Path(source), label, max_seconds)
    else:
        if isinstance(source, tuple):
            if len(source) != 2:
                raise AudioError(f"{label}: pass audio as (samples, sample_rate)")
            samples, source_sr = source
        else:
            samples, source_sr = source, SAMPLE_RATE
        if isinstance(samples, torch.Tensor):
            samples = samples.detach().cpu().numpy()
        samples = _to_mono(_as_float(np.asarray(samples)), label)
        try:
            source_sr = int(source_sr)
        except (TypeError, ValueError):
            raise AudioError(f"{label}: the sample rate must be a number of Hz, not {source_sr!r}") from None
        if source_sr <= 0:
            raise AudioError(f"{label}: invalid sample rate {source_sr}: pass (samples, rate) with rate > 0")
        if max_seconds is not None and len(samples) / source_sr > max_seconds:
            raise AudioError(
                f"{label} is {format_seconds(len(samples) / source_sr)} long, above the limit of {format_seconds(max_seconds)}"
            )
    if len(samples) == 0:
        raise AudioError(f"{label} contains no samples")
    if not np.all(np.isfinite(samples)):
        raise AudioError(f"{label} contains NaN or infinite samples: fix or re-export the recording")
    if source_sr != sr:
        samples = librosa.resample(samples, orig_sr=source_sr, target_sr=sr, res_type="soxr_hq")
    # Ours to modify: never a view of the caller's array.
    samples = (
        np.array(samples, dtype=np.float32)
        if not isinstance(source, (str, os.PathLike))
        else np.ascontiguousarray(samples, dtype=np.float32)
    )
    if len(samples) < min_samples:
        raise AudioError(
            f"{label} is too short ({format_seconds(len(samples) / sr)}): at least "
            f"{format_seconds(min_samples / sr)} ({min_samples} samples at {sr} Hz) is needed"
        )
    if not allow_silence and float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise AudioError(f"{label} is silent (peak below -60 dBFS): nothing to convert or to learn a voice from")
    return samples


def peak_normalize(wav: np.ndarray | torch.Tensor, peak: float = PEAK):
    """Scale so that max |wav| == peak (the original's `librosa.util.normalize(y) * 0.95`)."""
    top = float(abs(wav).max())
    return wav * (peak / top) if top > 0 else wav


def save_wav(path: str | os.PathLike, wav: np.ndarray, sr: int = SAMPLE_RATE, subtype: str = "PCM_16") -> Path:
    """Write a mono WAV atomically: a killed process never leaves a half-written file at `path`."""
    wav = np.clip(np.asarray(wav, dtype=np.float32), -1.0, 1.0)
    return atomic_write(path, lambda tmp: sf.write(tmp, wav, sr, subtype=subtype, format="WAV"))
