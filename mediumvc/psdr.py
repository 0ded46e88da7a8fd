"""PSDR, "pitch shifted, duration remained": SingleVC's training input is a copy of the
utterance shifted by a random whole number of semitones, with its timing untouched.

Backends: `rubberband` (what the original used, through the `rubberband` CLI from Debian's
`rubberband-cli`; formants move with the pitch), `sox` (`sox pitch`), `librosa` (phase vocoder +
resampling, pure Python). All return exactly as many samples as they are given.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

BACKENDS = ("rubberband", "sox", "librosa")
DEFAULT_RANGE = (-6, 4)  # the paper's acceptable range for its target speaker, inclusive


def draw_shift(rng: np.random.Generator, low: int = DEFAULT_RANGE[0], high: int = DEFAULT_RANGE[1]) -> int:
    """A whole number of semitones, uniform over [low, high] (0 included, as in the original)."""
    return int(rng.integers(low, high + 1))


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    return y[:n] if len(y) >= n else np.pad(y, (0, n - len(y)))


def _run_cli(cmd: list[str], wav: np.ndarray, sr: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.wav", Path(tmp) / "out.wav"
        sf.write(src, wav, sr, subtype="FLOAT")
        done = subprocess.run(
            [*cmd[:1], *[c.format(src=src, dst=dst) for c in cmd[1:]]], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {done.stderr.strip()[:300]}")
        out, _ = sf.read(dst, dtype="float32", always_2d=True)
    return out[:, 0]


def check_backend(backend: str) -> None:
    """A clear error now, rather than in a data-loader worker later, when a backend cannot run here."""
    from mediumvc.errors import MediumVCError

    if backend not in BACKENDS:
        raise MediumVCError(f"unknown PSDR backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    package = {"rubberband": "rubberband-cli", "sox": "sox"}.get(backend)
    if package and shutil.which(backend) is None:
        raise MediumVCError(
            f"the {backend} PSDR backend needs the {backend} command: apt-get install {package} (or use librosa)"
        )


def pitch_shift(wav: np.ndarray, sr: int, semitones: float, backend: str = "rubberband") -> np.ndarray:
    """Shift the pitch of mono `wav` by `semitones`, keeping its length. (N,) -> (N,) float32."""
    if semitones == 0:
        return wav.astype(np.float32, copy=True)
    if backend == "rubberband":
        if shutil.which("rubberband") is None:
            raise RuntimeError(
                "the rubberband backend needs the rubberband CLI: apt-get install rubberband-cli (or use --psdr-backend librosa)"
            )
        out = _run_cli(["rubberband", "-q", "--pitch", str(semitones), "{src}", "{dst}"], wav, sr)
    elif backend == "sox":
        if shutil.which("sox") is None:
            raise RuntimeError("the sox backend needs sox: apt-get install sox (or use --psdr-backend librosa)")
        out = _run_cli(["sox", "{src}", "{dst}", "pitch", str(100 * semitones), "rate", str(sr)], wav, sr)
    elif backend == "librosa":
        import librosa

        out = librosa.effects.pitch_shift(wav.astype(np.float32), sr=sr, n_steps=semitones)
    else:
        raise ValueError(f"unknown PSDR backend {backend!r}: choose one of {BACKENDS}")
    return _fit(np.asarray(out, dtype=np.float32), len(wav))
