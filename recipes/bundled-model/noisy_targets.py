"""Target recordings as users bring them: with background noise, music or a reverberant room.

For each distinct target of a pairs TSV, writes one degraded copy per condition into OUT and a pairs TSV per
condition (OUT/pairs-CONDITION.tsv: the same sources, the degraded target, and the clean one in `clean_target`,
which `quick_eval.py` judges similarity against):

- babble: four other targets of the TSV mixed in at 5 dB SNR (a cafe), their levels matched;
- noise: pink noise at 10 dB SNR;
- music: a synthetic piano-like chord progression at 5 dB SNR (decaying harmonic tones, 2 chords per second);
- reverb: a synthetic room (exponentially decaying noise, RT60 0.7 s), 30 % direct sound.

Deterministic (seed 0); conditions are synthesised, so no extra data is needed.

    python recipes/bundled-model/noisy_targets.py PAIRS.tsv OUT [--conditions babble noise music reverb]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import soundfile as sf

from mediumvc import SAMPLE_RATE, load_audio

SR = SAMPLE_RATE


def at_snr(speech: np.ndarray, interference: np.ndarray, snr_db: float) -> np.ndarray:
    gain = np.sqrt(np.mean(speech**2) / (np.mean(interference**2) + 1e-12) / 10 ** (snr_db / 10))
    return speech + gain * interference[: len(speech)]


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    return np.fft.irfft(spectrum, n)


def music(n: int, rng: np.random.Generator) -> np.ndarray:
    out, t = np.zeros(n), np.arange(SR // 2) / SR
    for start in range(0, n, SR // 2):
        root = 110 * 2 ** (rng.integers(0, 12) / 12)
        chord = sum(
            np.sin(2 * np.pi * root * ratio * h * t) / h**1.5 for ratio in (1, 1.26, 1.5, 2) for h in range(1, 6)
        )
        piece = chord * np.exp(-t * 4)
        out[start : start + len(piece)] += piece[: n - start]
    return out


def reverberate(speech: np.ndarray, rng: np.random.Generator, rt60: float = 0.7) -> np.ndarray:
    t = np.arange(int(rt60 * SR)) / SR
    tail = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)
    rir = np.concatenate([[1.0], np.zeros(int(0.003 * SR)), tail / np.sqrt(np.sum(tail**2)) * np.sqrt(0.7 / 0.3)])
    return np.convolve(speech, rir)[: len(speech)]


def degrade(condition: str, wav: np.ndarray, others: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    if condition == "babble":
        mix = np.zeros(len(wav))
        for other in others:
            other = np.resize(other, len(wav))
            mix += other / (np.sqrt(np.mean(other**2)) + 1e-9)
        return at_snr(wav, mix, 5.0)
    if condition == "noise":
        return at_snr(wav, pink(len(wav), rng), 10.0)
    if condition == "music":
        return at_snr(wav, music(len(wav), rng), 5.0)
    if condition == "reverb":
        return reverberate(wav, rng)
    raise ValueError(condition)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pairs")
    ap.add_argument("out")
    ap.add_argument("--conditions", nargs="+", default=["babble", "noise", "music", "reverb"])
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(args.pairs, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    targets = list(dict.fromkeys(r["target"].split("|")[0] for r in rows))
    wavs = {t: load_audio(t) for t in targets}
    for condition in args.conditions:
        rng = np.random.default_rng(0)
        moved = {}
        for i, target in enumerate(targets):
            others = [wavs[targets[(i + k) % len(targets)]] for k in (1, 2, 3, 4)]
            wav = degrade(condition, wavs[target], others, rng)
            path = out / condition / f"{i:03d}-{Path(target).stem}.wav"
            path.parent.mkdir(exist_ok=True)
            sf.write(path, (0.95 * wav / np.abs(wav).max()).astype(np.float32), SR)
            moved[target] = str(path.resolve())
        with open(out / f"pairs-{condition}.tsv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=[*rows[0], "clean_target"], delimiter="\t", lineterminator="\n")
            writer.writeheader()
            for r in rows:
                clean = r["target"].split("|")[0]
                writer.writerow({**r, "target": moved[clean], "clean_target": clean})
        print(f"{condition}: {len(targets)} targets -> {out / f'pairs-{condition}.tsv'}")


if __name__ == "__main__":
    main()
