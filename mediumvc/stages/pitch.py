"""The pitch stage: the converted mel's envelope over a harmonic fine structure at the target's pitch.

A log-mel splits into a smooth envelope (its low DCT coefficients along the mel axis) and a fine structure
(the rest), which for voiced speech is the harmonic comb set by F0. The stage keeps the converted envelope
and replaces the fine structure with that of a clean harmonic spectrum following the source's F0 contour
moved to the target's median F0: the words' intonation at the target's pitch level. Closed-form numpy.

The mel cannot hold every pitch: below about 90 Hz its bands are too coarse for the harmonic comb, and the
vocoder makes such voices creaky or a few semitones high. So a goal below `floor` is rendered at `floor`,
and `finish` moves the vocoded waveform down onto the goal by TD-PSOLA (`mediumvc.psola`), which keeps the
spectral envelope.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
from scipy.fft import dct, idct

from mediumvc.audio import N_FFT, SAMPLE_RATE
from mediumvc.f0 import BLOCK_FRAMES, median_f0, source_contour, track_f0, transpose_contour
from mediumvc.mel import denormalize_mel, mel_filterbank, normalize_mel
from mediumvc.psola import shift_pitch
from mediumvc.stages.base import Stage, StageContext


@dataclass(frozen=True)
class PitchStage(Stage):
    """lifter: DCT coefficients (of 80) kept as the envelope; the rest is fine structure.
    hnr_db: harmonic peaks over the noise floor of the rebuilt spectrum (the depth of the harmonic valleys).
    floor: Hz; a goal level below it is rendered at it and moved down to the goal in `finish` (0 = never).
    Skipped when the target's F0 is unknown or the source has no voiced frames."""

    name = "pitch"
    summary = "harmonics rebuilt on the source's F0 contour at the target's median F0"
    needs = frozenset({"f0"})

    lifter: int = 20
    hnr_db: float = 30.0
    floor: float = 90.0

    def __post_init__(self) -> None:
        if not 1 <= self.lifter < 80:
            raise ValueError(f"pitch.lifter must be in 1..79, not {self.lifter}")
        if not self.hnr_db > 0:
            raise ValueError(f"pitch.hnr_db must be positive, not {self.hnr_db}")
        if not 0 <= self.floor <= 200:
            raise ValueError(f"pitch.floor must be within 0-200 Hz, not {self.floor}")

    def goal(self, context: StageContext) -> tuple[np.ndarray, float] | None:
        """(the F0 contour (T,) the output should follow, its median level in Hz), or None when the stage
        leaves the pitch alone."""
        if context.voice.f0 is None and context.pitch == "target":
            return None
        f0 = context.source_contour if context.source_contour is not None else source_contour(context.source_wav)
        source_f0 = context.source_f0 or median_f0(f0)
        if source_f0 is None:
            return None
        level = context.voice.f0 if context.pitch == "target" else source_f0
        level *= 2 ** (context.transpose / 12)
        return transpose_contour(f0, source_f0, level), level

    def lift(self, level: float, context: StageContext) -> float:
        """The factor a goal level is rendered above itself (1 from `floor` up, or without `finish` to follow)."""
        return max(1.0, self.floor / level) if context.finished else 1.0

    def __call__(self, mel: torch.Tensor, context: StageContext) -> torch.Tensor:
        if (goal := self.goal(context)) is None:
            return mel
        contour, level = goal
        lift = self.lift(level, context)
        settings = dataclasses.replace(self, lifter=min(self.lifter, comb_lifter(level * lift)))
        return impose_pitch(mel, contour * lift, settings)

    def finish(self, wav: np.ndarray, context: StageContext) -> np.ndarray:
        if (goal := self.goal(context)) is None or (lift := self.lift(goal[1], context)) == 1.0:
            return wav
        return lower_pitch(wav, goal[0] * lift, lift)


# Below 1 kHz the mel bands are 37.2 Hz apart, so a harmonic comb at F0 repeats every F0 / 37.2 bands: DCT
# coefficient 160 x 37.2 / F0 along the 80 bands. An envelope keeping that many coefficients would keep the
# comb in the envelope and cancel it from the fine structure, so high voices lose their pitch.
_COMB_COEFFICIENT_HZ = 160 * 37.2 / 1.25  # with a margin of 1.25


def comb_lifter(f0: float) -> int:
    """The most envelope coefficients that leave a comb at `f0` Hz in the fine structure (20 up to 238 Hz)."""
    return max(4, int(_COMB_COEFFICIENT_HZ / f0))


def _hann_response(bins: np.ndarray) -> np.ndarray:
    """Magnitude of a periodic Hann window's spectrum, offset in FFT bins, normalised to 0.5 at 0."""
    return np.abs(0.5 * np.sinc(bins) + 0.25 * np.sinc(bins - 1) + 0.25 * np.sinc(bins + 1))


def _envelope(log_mel: np.ndarray, lifter: int) -> np.ndarray:
    """The smooth part of a log-mel (T, 80): its first `lifter` DCT coefficients along the mel axis."""
    c = dct(log_mel, type=2, norm="ortho", axis=1)
    c[:, lifter:] = 0.0
    return idct(c, type=2, norm="ortho", axis=1)


def harmonic_fine_structure(f0: np.ndarray, settings: PitchStage = PitchStage()) -> np.ndarray:
    """F0 per frame (T,) (0 = unvoiced) -> the log-mel fine structure (T, 80) of a harmonic spectrum.

    Each voiced frame's magnitude spectrum is the sum (in power) of the Hann window's response at every
    harmonic of F0, over a noise floor `hnr_db` below the harmonic peaks; unvoiced frames are the floor.
    The floor has the random texture of real noise (exponential power per FFT bin, fixed seed, so the
    result is deterministic).
    Computed in closed form per FFT bin from its nearest harmonics: no waveform is synthesised.
    """
    freqs = np.arange(N_FFT // 2 + 1) * SAMPLE_RATE / N_FFT  # (513,)
    floor = (0.5 * 10 ** (-settings.hnr_db / 20)) ** 2
    out = np.zeros((len(f0), 80), dtype=np.float32)
    basis = mel_filterbank().astype(np.float64)
    rng = np.random.default_rng(0)
    for s in range(0, len(f0), BLOCK_FRAMES):
        block = np.asarray(f0[s : s + BLOCK_FRAMES], dtype=np.float64)
        voiced = block > 0
        hz = np.where(voiced, block, 1.0)[:, None]  # (t, 1)
        nearest = np.rint(freqs[None, :] / hz)
        power = floor * rng.exponential(size=(len(block), len(freqs)))
        for step in (-2, -1, 0, 1, 2):
            h = nearest + step
            valid = (h >= 1) & (h * hz < SAMPLE_RATE / 2) & voiced[:, None]
            offset = (freqs[None, :] - h * hz) * N_FFT / SAMPLE_RATE
            power += np.where(valid, _hann_response(offset) ** 2, 0.0)
        log_mel = np.log(np.maximum(np.sqrt(power) @ basis.T, 1e-5))
        out[s : s + BLOCK_FRAMES] = log_mel - _envelope(log_mel, settings.lifter)
    return out


def lower_pitch(wav: np.ndarray, rendered: np.ndarray, factor: float, reach: float = 3.0) -> np.ndarray:
    """A waveform (N,) vocoded from a mel with the F0 contour `rendered` (T,) -> the same at `rendered / factor`.
    Where the waveform's own F0 is within `reach` semitones of the contour, the grains follow it and the ratio
    takes it to the goal (the vocoder reads a contour a little off); elsewhere the contour and 1 / factor serve."""
    now = track_f0(wav)
    frames = min(len(now), len(rendered))
    now, rendered = now[:frames], np.asarray(rendered[:frames], dtype=np.float64)
    with np.errstate(all="ignore"):  # unvoiced frames: 0 / 0
        off = 12 * np.log2(now / rendered)
    close = (now > 0) & (rendered > 0) & (np.abs(off) <= reach)
    f0 = np.where(close, now, rendered)
    # How far the vocoder read the contour off, as a running median over close frames (the tracker's frame-to-frame
    # jitter is not the vocoder's), removed along with the factor.
    windows = np.lib.stride_tricks.sliding_window_view(
        np.pad(np.where(close, off, np.nan), 4, constant_values=np.nan), 9
    )
    offset = np.zeros(frames)
    offset[close] = np.nanmedian(windows[close], axis=1)  # each window holds its own close frame
    return shift_pitch(wav, f0, 2 ** (-offset / 12) / factor)


def impose_pitch(mel: torch.Tensor, f0: np.ndarray, settings: PitchStage = PitchStage()) -> torch.Tensor:
    """Normalised mel (T, 80) + F0 per frame (T,) -> the same envelope with the F0's harmonic fine structure."""
    log_mel = denormalize_mel(mel.detach().float().cpu()).numpy()
    frames = min(len(log_mel), len(f0))
    fine = np.zeros_like(log_mel)
    fine[:frames] = harmonic_fine_structure(f0[:frames], settings)
    for s in range(0, len(log_mel), BLOCK_FRAMES):  # per frame, so blocks bound the float64 temporaries
        block = log_mel[s : s + BLOCK_FRAMES].astype(np.float64)
        log_mel[s : s + BLOCK_FRAMES] = _envelope(block, settings.lifter) + fine[s : s + BLOCK_FRAMES]
    return normalize_mel(torch.from_numpy(log_mel)).clamp(0.0, 1.0).to(mel.device)
