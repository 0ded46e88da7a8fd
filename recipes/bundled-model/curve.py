"""Learning curve of a training run: validation L1 per step from every session's CSV log
(OUT/logs/csv/from-step-N/metrics.csv), plus held-out similarity points from quick_eval.py output.
A model grown over several runs (`init=`) is drawn as one curve: give each run (and quick file) as
PATH@OFFSET, the step its run started from, or PATH@OFFSET:LAST to keep only its steps up to LAST.

    python recipes/bundled-model/curve.py RUN_DIR [RUN2_DIR@1500 ...] --quick QUICK.jsonl [QUICK2.jsonl@1500 ...] \
        --out recipes/bundled-model/learning_curve
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path


def val_curve(run: Path) -> list[tuple[int, float]]:
    points = {}
    for path in sorted((run / "logs" / "csv").glob("from-step-*/metrics.csv")):
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                if row.get("val/loss"):
                    points[int(row["step"]) + 1] = float(row["val/loss"])  # logged at the step before the count
    return sorted(points.items())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+", help="run folders, each optionally @OFFSET")
    ap.add_argument("--quick", nargs="*", default=[], help="JSON lines from quick_eval.py (optionally @OFFSET); the step is read from the model name (..._<step>)")
    ap.add_argument("--out", required=True, help="path prefix for .csv and .png")
    args = ap.parse_args()
    def split(arg: str) -> tuple[str, int, float]:
        path, _, where = arg.rpartition("@") if "@" in arg else (arg, "", "0")
        offset, _, last = where.partition(":")
        return path, int(offset), float(last) if last else float("inf")

    val = sorted((step + offset, v) for path, offset, last in map(split, args.runs) for step, v in val_curve(Path(path)) if step <= last)
    quick = []
    for path, offset, last in map(split, args.quick):
        for line in Path(path).read_text().splitlines():
            r = json.loads(line)
            step = int(re.findall(r"(\d+)$", r["model"].rstrip("/"))[0])
            if step <= last:
                quick.append((offset + step, r["sim_target"], r["sim_source_target"]))
    quick.sort()
    out = Path(args.out)
    with open(out.with_suffix(".csv"), "w") as fh:
        fh.write("step,val_l1\n" + "".join(f"{s},{v:.5f}\n" for s, v in val))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.5), dpi=100)
    ax.plot([s for s, _ in val], [v for _, v in val], "o-", label="validation L1 (training speakers)")
    ax.set_xlabel("step")
    ax.set_ylabel("L1 (normalised mel)")
    if quick:
        ax2 = ax.twinx()
        ax2.plot([s for s, *_ in quick], [q for _, q, _ in quick], "s-", color="C1", label="held-out similarity to target")
        ax2.axhline(quick[0][2], color="C1", ls=":", label="unconverted source")
        ax2.set_ylabel("cosine similarity")
        ax2.legend(loc="upper right")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"))
    print(f"wrote {out.with_suffix('.csv')} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
