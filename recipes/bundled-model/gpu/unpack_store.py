"""Rebuild a feature store (fp16 mels, store.json, manifest.tsv) from a `pack_store.py` file
(or add a part of one to the folder).

    python unpack_store.py PACK.npz STORE_DIR
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np


def main() -> None:
    pack, root = sys.argv[1], Path(sys.argv[2])
    z = np.load(pack, allow_pickle=False)
    index = json.loads(str(z["index"]))
    mels, dvecs, scale = z["mels"], z["dvectors"], index["scale"]
    variants = z["variants"] if "variants" in z.files else None
    shifts = z["shifts"] if "shifts" in z.files else None
    m = v = s = 0
    for i, (row, n) in enumerate(zip(index["rows"], index["frames"])):
        item = {
            "mel": (mels[m : m + n] / scale).astype(np.float16),
            "dvector": dvecs[i],
            "meta": np.array(json.dumps(index["metas"][i])),
        }
        m += n
        k = index["variants"][i]
        if k:
            item["psdr_mels"] = (variants[v : v + k * n] / scale).astype(np.float16).reshape(k, n, 80)
            item["psdr_shifts"] = shifts[s : s + k]
            v, s = v + k * n, s + k
        path = root / "items" / f"{row['uid']}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **item)
    (root / "store.json").write_text(json.dumps(index["store_json"], indent=2))
    rows = {r["uid"]: r for r in index["rows"]}
    if (root / "manifest.tsv").is_file():  # another part of the same store is already there
        with (root / "manifest.tsv").open(newline="") as fh:
            rows = {**{r["uid"]: r for r in csv.DictReader(fh, delimiter="\t")}, **rows}
    header = "uid\tspeaker\tframes\tseconds\tsource\n"
    (root / "manifest.tsv").write_text(
        header
        + "".join(
            f"{r['uid']}\t{r['speaker']}\t{r['frames']}\t{r['seconds']}\t{r['source']}\n"
            for _, r in sorted(rows.items())
        )
    )
    print(f"{len(index['rows'])} utterances -> {root} ({len(rows)} there now)")


if __name__ == "__main__":
    main()
