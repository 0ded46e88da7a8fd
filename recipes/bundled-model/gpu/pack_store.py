"""Pack a feature store into one compressed file small enough to travel to a GPU machine (64 MiB).

Mels are quantised to 8 bits over [0, max] (the store's mels are normalised to about [0, 1.17]: a
step of 0.005, a hundred times below the networks' L1 error) and deflated; d-vectors stay float32.
`unpack_store.py` rebuilds an ordinary store (fp16 mels) from it. Selection keeps the file small:
`--keep-variants K` keeps the first K PSDR variants (0: none), `--thin GLOB=N` keeps every N-th utterance of
matching speakers (e.g. the four 40-minute Fish Fillets voices, which MediumVC's one-speaker
batches draw only 4 times in 220 anyway), `--exclude GLOB` drops speakers (held-out ones), `--shard I/N` keeps the I-th of N
equal parts (unpacking the parts into one folder rebuilds the whole).

    python pack_store.py STORE OUT.npz [--keep-variants 2] [--thin 'fillets_*=5'] [--exclude GLOB ...] [--shard 0/2]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from mediumvc.data.store import item_path, read_item, read_manifest  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store")
    ap.add_argument("out")
    ap.add_argument("--keep-variants", type=int, default=None)
    ap.add_argument(
        "--thin", action="append", default=[], help="GLOB=N: every N-th utterance of speakers matching GLOB"
    )
    ap.add_argument("--exclude", action="append", default=[])
    ap.add_argument("--shard", default="0/1", help="I/N: every N-th kept utterance, starting at the I-th")
    a = ap.parse_args()
    shard, shards = (int(x) for x in a.shard.split("/"))
    thin = [(g, int(n)) for g, n in (t.split("=") for t in a.thin)]
    rows, seen = [], {}
    for r in read_manifest(a.store):
        if any(fnmatch.fnmatchcase(r["speaker"], g) for g in a.exclude):
            continue
        n = next((n for g, n in thin if fnmatch.fnmatchcase(r["speaker"], g)), 1)
        seen[r["speaker"]] = seen.get(r["speaker"], -1) + 1
        if seen[r["speaker"]] % n == 0:
            rows.append(r)
    rows = rows[shard::shards]
    items = [read_item(item_path(Path(a.store), r["uid"])) for r in rows]
    top = max(float(it["mel"].max()) for it in items)
    if "psdr_mels" in items[0]:
        top = max(top, max(float(it["psdr_mels"].max()) for it in items))
    scale = 255.0 / top
    q = lambda x: np.round(x.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    mels, variants, shifts, dvecs, counts = [], [], [], [], []
    for it in items:
        mels.append(q(it["mel"]))
        k = 0
        if "psdr_mels" in it:
            k = min(len(it["psdr_mels"]), len(it["psdr_mels"]) if a.keep_variants is None else a.keep_variants)
        if k:
            variants.append(q(it["psdr_mels"][:k]).reshape(-1, 80))
            shifts.append(it["psdr_shifts"][:k])
        counts.append(k)
        dvecs.append(it["dvector"])
    index = {
        "rows": rows,
        "frames": [len(m) for m in mels],
        "metas": [it["meta"] for it in items],
        "scale": scale,
        "store_json": json.loads((Path(a.store) / "store.json").read_text()),
        "variants": counts,
    }
    arrays = {"mels": np.concatenate(mels), "dvectors": np.stack(dvecs), "index": np.array(json.dumps(index))}
    if variants:
        arrays["variants"] = np.concatenate(variants)
        arrays["shifts"] = np.concatenate(shifts)
    np.savez_compressed(a.out, **arrays)
    print(
        f"{len(rows)} utterances, {sum(index['frames'])} frames -> {a.out} ({Path(a.out).stat().st_size / 2**20:.1f} MiB)"
    )


if __name__ == "__main__":
    main()
