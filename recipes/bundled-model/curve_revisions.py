"""The issue's learning curve over the whole lineage: full-evaluation similarity (40 held-out pairs) of every
revision and fully evaluated candidate against the CPU-hours spent so far (log.md), with the bars.

    python recipes/bundled-model/curve_revisions.py   # reads revisions.csv beside it, writes revisions.png
"""

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

here = Path(__file__).parent
rows = list(csv.DictReader(open(here / "revisions.csv")))
fig, ax = plt.subplots(figsize=(8, 4.2))
for shipped in (True, False):
    pts = [r for r in rows if (r["shipped"] == "yes") == shipped]
    ax.plot(
        [float(r["cpu_hours"]) for r in pts],
        [float(r["similarity"]) for r in pts],
        "o-" if shipped else "x",
        color="C0" if shipped else "C1",
        label="shipped revision" if shipped else "candidate, not shipped",
    )
    for r in pts:
        ax.annotate(
            r["label"],
            (float(r["cpu_hours"]), float(r["similarity"])),
            textcoords="offset points",
            xytext=(4, -11 if shipped else 5),
            fontsize=7,
        )
for y, text, style in (
    (0.718, "bar: source + 0.15 (0.718)", "--"),
    (0.630, "DSP baseline (0.630)", ":"),
    (0.568, "unconverted source (0.568)", ":"),
):
    ax.axhline(y, linestyle=style, color="grey", linewidth=1)
    ax.text(0.01, y + 0.003, text, fontsize=7, color="grey", transform=ax.get_yaxis_transform())
ax.set_xlabel("CPU-hours spent on the issue (log.md; 1 core fully used for an hour)")
ax.set_ylabel("similarity to target (40 held-out pairs)")
ax.set_title("Bundled model: full-evaluation similarity per revision")
ax.legend(loc="lower right", fontsize=8)
fig.tight_layout()
fig.savefig(here / "revisions.png", dpi=110)
print(f"wrote {here / 'revisions.png'}")
