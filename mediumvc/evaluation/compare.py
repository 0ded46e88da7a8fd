"""Two evaluations of the same pairs, compared pair by pair (`mediumvc evaluate compare`)."""

from __future__ import annotations

import math

import numpy as np

from mediumvc.errors import MediumVCError

# Compared pair by pair; "+" = higher is better.
COMPARED = {
    "sim_target": "+",
    "sv_accept": "+",
    "wer": "-",
    "cer": "-",
    "dnsmos_ovrl": "+",
    "f0_error_semitones": "-",
    "sim_heldout": "+",
}
MIN_COMPARED_PAIRS = 5  # fewer: no verdict (a bootstrap of 1-4 pairs says nothing)


def compare_results(
    a: dict, b: dict, method_a: str = "mediumvc", method_b: str = "mediumvc", seed: int = 0, n: int = 2000
) -> dict:
    """Paired comparison of two evaluations (results.json dicts) on the pairs both measured.

    Returns metric -> {"a", "b": means, "diff": mean of b - a over the shared pairs, "low", "high": its 95 %
    bootstrap interval (pairs resampled together), "pairs", "verdict": "better" / "worse" when the interval
    excludes 0 in b's favour / against it, else "within noise"; "too few pairs" under MIN_COMPARED_PAIRS}.
    The same pairs judged twice differ far less than two sets of pairs, so this sees differences the
    per-method intervals cannot."""

    def rows(result: dict, method: str) -> dict[str, dict]:
        mine = {r["pair"]: r for r in result.get("rows", []) if r.get("method") == method and not r.get("failed")}
        if not mine:
            raise MediumVCError(
                f"the evaluation has no measured rows of method {method!r} "
                f"(it has: {', '.join(sorted({r.get('method', '?') for r in result.get('rows', [])})) or 'none'})"
            )
        return mine

    ra, rb = rows(a, method_a), rows(b, method_b)
    shared = [k for k in ra if k in rb]
    if not shared:
        raise MediumVCError("the two evaluations share no pairs: compare reports made from the same pairs file")
    rng = np.random.default_rng(seed)
    out = {}
    for metric, sign in COMPARED.items():
        va = np.array([float(ra[k].get(metric, math.nan)) for k in shared])
        vb = np.array([float(rb[k].get(metric, math.nan)) for k in shared])
        keep = np.isfinite(va) & np.isfinite(vb)
        if not keep.any():
            continue
        d = vb[keep] - va[keep]
        means = d[rng.integers(0, len(d), size=(n, len(d)))].mean(axis=1)
        low, high = float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))
        good = (low > 0) if sign == "+" else (high < 0)
        bad = (high < 0) if sign == "+" else (low > 0)
        verdict = (
            "too few pairs"
            if keep.sum() < MIN_COMPARED_PAIRS
            else "better"
            if good
            else "worse"
            if bad
            else "within noise"
        )
        out[metric] = {
            "a": float(va[keep].mean()),
            "b": float(vb[keep].mean()),
            "diff": float(d.mean()),
            "low": low,
            "high": high,
            "pairs": int(keep.sum()),
            "verdict": verdict,
        }
    return out
