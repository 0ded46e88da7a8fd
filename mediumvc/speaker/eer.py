"""Equal error rate and the threshold at which it occurs."""

from __future__ import annotations

import numpy as np


def equal_error_rate(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Scores of trials and their labels (1 = same speaker) -> (EER, threshold at the EER).

    The ROC is swept over every distinct score; the EER is where the false-acceptance and
    false-rejection rates cross, linearly interpolated between the two neighbouring thresholds.
    """
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels).astype(bool)
    if labels.all() or not labels.any():
        raise ValueError("EER needs both same-speaker and different-speaker trials")
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    # accept everything scoring >= threshold; thresholds at each distinct score, from high to low
    tp, fp = np.cumsum(y), np.cumsum(~y)
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    far = np.r_[0.0, fp[last] / (~y).sum()]
    frr = np.r_[1.0, 1 - tp[last] / y.sum()]
    thresholds = np.r_[s[0] + 1e-9, s[last]]
    i = int(np.flatnonzero(far >= frr)[0])  # first point where acceptance errors catch up
    if i == 0:
        return 0.0, float(thresholds[0])
    # interpolate the crossing between points i-1 and i
    d0, d1 = frr[i - 1] - far[i - 1], frr[i] - far[i]
    t = d0 / (d0 - d1) if d0 != d1 else 0.0
    eer = far[i - 1] + t * (far[i] - far[i - 1])
    threshold = thresholds[i - 1] + t * (thresholds[i] - thresholds[i - 1])
    return float(eer), float(threshold)
