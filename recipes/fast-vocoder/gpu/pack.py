"""Pack distillation data small enough for one device call: the mels only, and the teacher to vocode them there.

    python recipes/fast-vocoder/gpu/pack.py DATA PACK [--init EXPORT] [--frames 180000]

A prepared folder (prepare.py) holds V1's waveforms, about four times the size of its mels; a GPU makes them
again in seconds. PACK gets:
  mels.xz        the mels, quantised to 8 bits over [0, SCALE] and delta-coded across frames (xz)
  index.tsv      the prepared index's rows for the packed items, in packing order
  v1.safetensors HiFi-GAN V1 universal, fp16 (the teacher; run.py vocodes with it in fp32)
  init/          EXPORT with fp16 weights, when given: where the GPU run starts
Every held-out item is packed; training items are taken kind by kind in turn (real, converted, ...) in the
index's order, up to --frames frames.
"""

from __future__ import annotations

import argparse
import csv
import lzma
import shutil
import sys
from pathlib import Path

import numpy as np
from safetensors.torch import load_file, save_file

from mediumvc.vocoder import load_hifigan
from mediumvc.vocoder.distill import interleaved

SCALE = 1.25  # the normalised mels lie in [0, about 1.2]
FILTERS = [{"id": lzma.FILTER_DELTA, "dist": 80}, {"id": lzma.FILTER_LZMA2, "preset": 9}]


def quantise(mel: np.ndarray) -> np.ndarray:
    return np.clip(np.round(mel.astype(np.float32) / SCALE * 255), 0, 255).astype(np.uint8)


def dequantise(q: np.ndarray) -> np.ndarray:
    return q.astype(np.float32) * (SCALE / 255)


def unpack_mels(pack: Path) -> list[tuple[dict, np.ndarray]]:
    """(index row, (T, 80) uint8 mel) for each packed item."""
    with (pack / "index.tsv").open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    flat = np.frombuffer(lzma.decompress((pack / "mels.xz").read_bytes(), lzma.FORMAT_RAW, filters=FILTERS), np.uint8)
    mels = np.split(flat.reshape(-1, 80), np.cumsum([int(r["frames"]) for r in rows])[:-1])
    return list(zip(rows, mels))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("pack", type=Path)
    ap.add_argument("--init", type=Path, help="an exported fast vocoder to start from")
    ap.add_argument("--frames", type=int, default=180000, help="training frames to pack (about 46 bytes each)")
    args = ap.parse_args()
    with (args.data / "index.tsv").open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    held = [r for r in rows if r["split"] == "val"]
    train, total = [], 0
    for r in interleaved([r for r in rows if r["split"] != "val"], kind=lambda r: r["kind"]):
        if total + int(r["frames"]) > args.frames:
            break
        train.append(r)
        total += int(r["frames"])
    args.pack.mkdir(parents=True, exist_ok=True)
    quantised = []
    for r in held + train:
        with np.load(args.data / f"{r['id']}.npz", allow_pickle=False) as z:
            quantised.append(quantise(z["mel"]))
    (args.pack / "mels.xz").write_bytes(
        lzma.compress(np.concatenate(quantised).tobytes(), lzma.FORMAT_RAW, filters=FILTERS)
    )
    with (args.pack / "index.tsv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(held + train)
    half = lambda state: {k: v.half().contiguous() for k, v in state.items()}
    save_file(half(load_hifigan().state_dict()), str(args.pack / "v1.safetensors"))
    if args.init:
        shutil.copytree(args.init, args.pack / "init", dirs_exist_ok=True)
        weights = args.pack / "init" / "model.safetensors"
        save_file(half(load_file(str(weights))), str(weights))
    sizes = {p.name: p.stat().st_size for p in args.pack.rglob("*") if p.is_file()}
    print(f"{len(held)} held-out and {len(train)} training items ({total} frames); {sum(sizes.values()) / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
