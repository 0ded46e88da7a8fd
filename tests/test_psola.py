"""TD-PSOLA: the pitch of voiced runs moves, their timing, level and envelope stay, and the rest is untouched."""

import numpy as np
import pytest
import torch

from helpers import voiced
from mediumvc.f0 import median_f0, track_f0
from mediumvc.mel import MelSpectrogram
from mediumvc.psola import shift_pitch, voiced_runs


def test_voiced_runs():
    mask = np.array([0, 1, 1, 0, 0, 1, 0, 1, 1, 1], dtype=bool)
    assert voiced_runs(mask) == [(1, 3), (5, 6), (7, 10)]
    assert voiced_runs(np.zeros(4, dtype=bool)) == []


@pytest.mark.parametrize("ratio", [0.6, 0.8, 1.3])
def test_shift_moves_the_pitch_and_keeps_length_level_and_envelope(ratio):
    wav = voiced(2.0, f0=120.0)
    f0 = track_f0(wav)
    out = shift_pitch(wav, f0, np.full(len(f0), ratio))
    assert out.shape == wav.shape and out.dtype == np.float32
    assert abs(12 * np.log2(median_f0(track_f0(out)) / (120.0 * ratio))) < 0.3
    rms = lambda x: float(np.sqrt(np.mean(x**2)))
    assert abs(20 * np.log10(rms(out) / rms(wav))) < 2.5  # fewer grains a second at a lower pitch: a little quieter
    # The envelope: the shape of the long-term mel spectrum, smoothed over 16 bands (wider than the harmonic
    # comb), within 3 dB up to 3 kHz.
    spectrum = lambda x: MelSpectrogram()(torch.from_numpy(x)).exp().mean(0).numpy()
    smooth = lambda s: np.convolve(20 * np.log10(s), np.ones(16) / 16, mode="valid")[:50]
    shape = smooth(spectrum(out)) - smooth(spectrum(wav))
    assert np.abs(shape - shape.mean()).max() < 3.0


def test_unvoiced_samples_and_ratio_one_are_left_alone():
    rng = np.random.default_rng(0)
    tone = voiced(1.0, f0=150.0)
    noise = (0.05 * rng.standard_normal(len(tone))).astype(np.float32)
    wav = np.concatenate([tone, noise])
    f0 = track_f0(wav)
    f0[len(tone) // 256 :] = 0.0  # the noise half is unvoiced
    out = shift_pitch(wav, f0, np.full(len(f0), 0.7))
    np.testing.assert_array_equal(out[len(tone) + 256 :], wav[len(tone) + 256 :])
    assert np.abs(out[: len(tone)] - wav[: len(tone)]).max() > 0.05  # the tone did move
    # No voiced frames: a copy.
    np.testing.assert_array_equal(shift_pitch(wav, np.zeros_like(f0), np.full(len(f0), 0.7)), wav)
