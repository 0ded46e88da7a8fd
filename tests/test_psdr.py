"""PSDR keeps the duration and moves F0 by the requested number of semitones."""

import librosa
import numpy as np
import pytest

from helpers import voiced
from mediumvc.psdr import draw_shift, pitch_shift

pytestmark = pytest.mark.tools("rubberband", "sox")


def median_f0(y: np.ndarray) -> float:
    f0, _, _ = librosa.pyin(y, fmin=60, fmax=600, sr=22050, frame_length=2048)
    return float(np.nanmedian(f0))


# rubberband and sox land within 0.3 semitones on a steady harmonic tone; librosa's phase
# vocoder + resampling within 0.5.
@pytest.mark.parametrize("backend,tolerance", [("rubberband", 0.3), ("sox", 0.3), ("librosa", 0.5)])
@pytest.mark.parametrize("shift", [-6, 4])
def test_shift_moves_f0_and_keeps_duration(backend, tolerance, shift):
    y = voiced(1.5, f0=150.0)
    out = pitch_shift(y, 22050, shift, backend)
    assert len(out) == len(y) and out.dtype == np.float32
    measured = 12 * np.log2(median_f0(out) / median_f0(y))
    assert abs(measured - shift) < tolerance, f"{backend}: asked {shift}, got {measured:.2f} semitones"


def test_zero_shift_is_identity_and_draws_cover_the_range():
    y = voiced(0.2)
    np.testing.assert_array_equal(pitch_shift(y, 22050, 0), y)
    rng = np.random.default_rng(0)
    draws = {draw_shift(rng) for _ in range(500)}
    assert draws == set(range(-6, 5))
