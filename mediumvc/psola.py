"""Moving the pitch of a waveform in place: time-domain pitch-synchronous overlap-add (TD-PSOLA).

Each voiced run is cut into two-period grains centred one period apart, and the grains are laid down again at
the new period's spacing, each taken from where the source was at that moment: the pitch moves, the timing and
the spectral envelope stay. Unvoiced samples are left as they are. Numpy on the CPU.
"""

from __future__ import annotations

import numpy as np

from mediumvc.audio import HOP_LENGTH, SAMPLE_RATE

MIN_RUN = 3  # voiced frames: shorter runs are left alone
FADE = 128  # samples of cross-fade between a shifted run and the untouched audio around it


def voiced_runs(voiced: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) frame ranges of each run of True in a (T,) mask."""
    edges = np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def shift_pitch(wav: np.ndarray, f0: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """Waveform (N,) at 22.05 kHz, its F0 per mel frame (T,) in Hz (0 = unvoiced) and a pitch ratio per frame
    (T,) -> (N,) float32: each voiced run at F0 x ratio, same length and timing; other samples unchanged."""
    out = np.asarray(wav, dtype=np.float32).copy()
    frames = min(len(f0), len(ratio), len(wav) // HOP_LENGTH)
    for a, b in voiced_runs(np.asarray(f0[:frames]) > 0):
        if b - a >= MIN_RUN:
            _shift_run(out, wav, f0, ratio, a, b)
    return out


def _shift_run(out: np.ndarray, wav: np.ndarray, f0: np.ndarray, ratio: np.ndarray, a: int, b: int) -> None:
    """Rewrite out[a * 256 : b * 256] with frames [a, b) of `wav` shifted by `ratio`."""
    s0, s1 = a * HOP_LENGTH, b * HOP_LENGTH
    centres = (np.arange(a, b) + 0.5) * HOP_LENGTH
    period = lambda pos: SAMPLE_RATE / np.interp(pos, centres, f0[a:b])
    new_period = lambda pos: period(pos) / np.interp(pos, centres, ratio[a:b])
    # Analysis marks one local period apart, anchored at the loudest sample of the run's first period.
    anchor = s0 + int(np.argmax(np.abs(wav[s0 : s0 + int(period(s0))])))
    marks = [float(anchor)]
    while marks[-1] + period(marks[-1]) < s1:
        marks.append(marks[-1] + period(marks[-1]))
    while marks[0] - period(marks[0]) >= s0:
        marks.insert(0, marks[0] - period(marks[0]))
    marks = np.array(marks)
    # Grains reach at most two periods beyond the run: buffers over that span only (inputs may be an hour long).
    reach = 2 * int(np.ceil(period(centres).max()))
    base = s0 - reach
    acc = np.zeros(s1 - s0 + 2 * reach)
    weight = np.zeros_like(acc)
    pos = marks[0]
    while pos < s1:
        centre = marks[np.argmin(np.abs(marks - pos))]  # the grain from where the source was at `pos`
        half = int(round(period(centre)))
        window = 0.5 - 0.5 * np.cos(np.pi * np.arange(2 * half) / half)
        src, dst = int(round(centre)) - half, int(round(pos)) - half
        lo, hi = max(0, -src, base - dst), min(2 * half, len(wav) - src, base + len(acc) - dst)
        if hi > lo:
            acc[dst - base + lo : dst - base + hi] += wav[src + lo : src + hi] * window[lo:hi]
            weight[dst - base + lo : dst - base + hi] += window[lo:hi]
        pos += new_period(pos)
    shifted = acc[reach : reach + s1 - s0] / np.maximum(weight[reach : reach + s1 - s0], 0.25)
    fade = np.ones(s1 - s0)
    n = min(FADE, (s1 - s0) // 2)
    fade[:n] = np.linspace(0.0, 1.0, n)
    fade[len(fade) - n :] = np.linspace(1.0, 0.0, n)
    out[s0:s1] = fade * shifted + (1 - fade) * out[s0:s1]
