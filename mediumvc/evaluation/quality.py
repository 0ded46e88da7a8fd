"""Predicted MOS with DNSMOS (speechmos, MIT; ONNX models ship in the package)."""

from __future__ import annotations

import numpy as np


def dnsmos(wav16: np.ndarray) -> dict[str, float]:
    """16 kHz mono in [-1, 1] -> {'ovrl', 'sig', 'bak', 'p808'}."""
    from speechmos import dnsmos as _dnsmos

    peak = float(np.max(np.abs(wav16))) or 1.0
    scores = _dnsmos.run(wav16 / max(1.0, peak), sr=16000)
    return {
        "ovrl": float(scores["ovrl_mos"]),
        "sig": float(scores["sig_mos"]),
        "bak": float(scores["bak_mos"]),
        "p808": float(scores["p808_mos"]),
    }
