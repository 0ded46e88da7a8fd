"""Content-model training data: for each English utterance, phone labels on the mel's frame grid
(pocketsphinx: forced alignment where the text is known, decode-then-align where not) and its normalised
mel plus pitch-shifted copies (the words stay, the voice moves).

    python recipes/content-model/prepare.py MANIFEST OUT [--speakers GLOB ...] [--shifts -6 -3 3 4]

Writes OUT/<id>.npz (mels (1 + len(shifts), T, 80) float16, labels (T,) int16 with -1 = unaligned) and
OUT/index.tsv (id, speaker, frames, how). Re-running skips finished items; each file is written whole.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import hashlib
import random
import sys
from pathlib import Path

import librosa
import numpy as np
import torch

from mediumvc.audio import SAMPLE_RATE, load_audio, peak_normalize
from mediumvc.content.phones import PhoneAligner
from mediumvc.files import atomic_savez
from mediumvc.mel import MelSpectrogram, normalize_mel


def rows(manifest: Path, speakers: list[str]) -> list[dict]:
    with open(manifest, newline="") as f:
        found = [r for r in csv.DictReader(f, delimiter="\t") if r.get("language", "en") == "en"]
    return [r for r in found if any(fnmatch.fnmatch(r["speaker"], g) for g in speakers)]


def item_id(row: dict) -> str:
    return hashlib.sha1(row["path"].encode()).hexdigest()[:16]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("manifest", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--speakers", nargs="+", default=["ljspeech:*", "librispeech_tc100:*", "vctk_autovc:*"])
    ap.add_argument(
        "--shifts", type=float, nargs="*", default=[-6.0, -3.0, 2.0, 4.0], help="semitones, two drawn per item"
    )
    ap.add_argument("--per-item", type=int, default=2, help="pitch-shifted copies per utterance")
    args = ap.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    index_path = args.out / "index.tsv"
    done = set()
    if index_path.exists():
        done = {line.split("\t")[0] for line in index_path.read_text().splitlines()[1:]}
    else:
        index_path.write_text("id\tspeaker\tframes\thow\tpath\n")
    aligner, mel = PhoneAligner(), MelSpectrogram()
    todo = [r for r in rows(args.manifest, args.speakers) if item_id(r) not in done]
    print(f"{len(todo)} utterances to label", file=sys.stderr)
    for n, row in enumerate(todo, 1):
        key = item_id(row)
        wav = peak_normalize(load_audio(args.manifest.parent / row["path"]))
        labels, how = aligner.frame_labels(wav, SAMPLE_RATE, row.get("text") or None)
        if how == "none":
            with open(index_path, "a") as f:
                f.write(f"{key}\t{row['speaker']}\t0\tnone\t{row['path']}\n")
            continue
        rng = random.Random(key)
        shifts = rng.sample(args.shifts, min(args.per_item, len(args.shifts)))
        variants = [wav] + [peak_normalize(librosa.effects.pitch_shift(wav, sr=SAMPLE_RATE, n_steps=s)) for s in shifts]
        with torch.inference_mode():
            mels = [
                normalize_mel(mel(torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)))).numpy()
                for v in variants
            ]
        frames = min(len(labels), *(len(m) for m in mels))
        arrays = {
            "mels": np.stack([m[:frames] for m in mels]).astype(np.float16),
            "labels": labels[:frames],
            "shifts": np.array([0.0] + shifts, dtype=np.float32),
        }
        atomic_savez(args.out / f"{key}.npz", **arrays)
        with open(index_path, "a") as f:
            f.write(f"{key}\t{row['speaker']}\t{frames}\t{how}\t{row['path']}\n")
        if n % 25 == 0:
            print(f"{n}/{len(todo)}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
