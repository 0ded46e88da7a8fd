"""Distillation data for the fast vocoder: mels and the waveforms HiFi-GAN V1 (fp32) makes of them.

    python recipes/fast-vocoder/prepare.py OUT --store STORE [STORE ...] [--real 1200] [--converted 300]

Two kinds of mel: "real" (a window of an utterance's mel from a feature store) and "converted" (the bundled
model's output for a random source and another speaker as target, after its stages: what the vocoder sees in
use). Each item is a window of at most --frames frames; the teacher vocodes exactly that window, so the student
learns the same function. The held-out speakers' items (and conversions of their speech) are split "val".

Writes OUT/<id>.npz (mel (T, 80) float16 normalised, wav (T * 256,) float16) and OUT/index.tsv (id, speaker,
kind, frames, split). Re-running skips finished items; each file is written whole.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import hashlib
import random
import sys
from pathlib import Path

import numpy as np
import torch

from mediumvc.data.store import item_path, read_item, read_manifest
from mediumvc.files import atomic_savez
from mediumvc.vocoder import MelVocoder, load_hifigan

HELD_OUT = ("librispeech_tc100:*0", "vctk_autovc:p228")


def held_out(speaker: str) -> bool:
    return any(fnmatch.fnmatch(speaker, g) for g in HELD_OUT)


def window(length: int, frames: int, rng: random.Random) -> slice:
    start = rng.randrange(0, max(1, length - frames + 1))
    return slice(start, start + frames)


def plan(stores: list[Path], real: int, converted: int, seed: int) -> list[dict]:
    """What to make, deterministically: real windows taken round-robin over the speakers, then conversions of
    random pairs (a held-out source gets a held-out target, so held-out items stay apart)."""
    rows = [dict(r, store=str(s)) for s in stores for r in read_manifest(s)]
    rng = random.Random(seed)
    rng.shuffle(rows)
    by_speaker: dict[str, list[dict]] = {}
    for r in rows:
        by_speaker.setdefault(r["speaker"], []).append(r)
    # Round-robin over speakers: every voice appears before any voice appears twice.
    order = [
        rs[rank] for rank in range(max(map(len, by_speaker.values()))) for rs in by_speaker.values() if rank < len(rs)
    ]
    jobs = [{"kind": "real", "row": r} for r in order[:real]]
    speakers = sorted(by_speaker)
    for n in range(converted):
        source = rows[(n * 7919) % len(rows)]
        others = [s for s in speakers if s != source["speaker"] and held_out(s) == held_out(source["speaker"])]
        target = rng.choice(by_speaker[rng.choice(others)])
        jobs.append({"kind": "converted", "row": source, "target": target})
    return jobs


def job_id(job: dict) -> str:
    key = job["kind"] + job["row"]["uid"] + job.get("target", {}).get("uid", "")
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--store", type=Path, nargs="+", required=True, help="feature stores (mediumvc preprocess)")
    ap.add_argument("--real", type=int, default=1200, help="windows of real mels")
    ap.add_argument("--converted", type=int, default=300, help="windows of converted mels")
    ap.add_argument("--frames", type=int, default=200, help="frames per window (200 = 2.3 s)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    index_path = args.out / "index.tsv"
    done = set()
    if index_path.exists():
        with index_path.open(newline="") as f:
            done = {r["id"] for r in csv.DictReader(f, delimiter="\t")}
    else:
        index_path.write_text("id\tspeaker\tkind\tframes\tsplit\n")
    teacher = MelVocoder(load_hifigan(), "cpu", "fp32")
    converter = None
    todo = [j for j in plan(args.store, args.real, args.converted, args.seed) if job_id(j) not in done]
    print(f"{len(todo)} items to make", file=sys.stderr)
    for n, job in enumerate(todo, 1):
        key, row = job_id(job), job["row"]
        rng = random.Random(key)
        if job["kind"] == "real":
            mel = torch.from_numpy(read_item(item_path(Path(row["store"]), row["uid"]))["mel"].astype(np.float32))
        else:
            if converter is None:
                from mediumvc import VoiceConverter

                converter = VoiceConverter.from_pretrained(device="cpu", precision="fp32")
            _, mel = converter.source_and_converted_mels(row["source"], job["target"]["source"])
        # Rounded to float16 first: the teacher vocodes exactly the mel the student will see.
        mel = mel[window(len(mel), args.frames, rng)].half().float().contiguous()
        arrays = {"mel": mel.numpy().astype(np.float16), "wav": teacher(mel).astype(np.float16)}
        atomic_savez(args.out / f"{key}.npz", **arrays)
        split = "val" if held_out(row["speaker"]) else "train"
        with open(index_path, "a") as f:
            f.write(f"{key}\t{row['speaker']}\t{job['kind']}\t{len(mel)}\t{split}\n")
        if n % 50 == 0:
            print(f"{n}/{len(todo)}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
