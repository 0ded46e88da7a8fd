"""A self-contained report folder: index.html (metric table per method, per-pair rows with audio
players and mel-spectrogram images, the EER plot), results.json, pairs.csv, summary.csv."""

from __future__ import annotations

import html
import math
import os
import shutil
from pathlib import Path

import torch

from mediumvc.audio import load_audio
from mediumvc.mel import MelSpectrogram

# (metric, label, direction: +1 higher is better, -1 lower is better, 0 neutral, format)
COLUMNS = [
    ("sv_accept", "SV acc.", 1, "{:.0%}"),
    ("sim_target", "sim. to target", 1, "{:.3f}"),
    ("sim_heldout", "sim. to held-out", 1, "{:.3f}"),
    ("sim_source_target", "source-target sim.", 0, "{:.3f}"),
    ("wer", "WER", -1, "{:.2f}"),
    ("cer", "CER", -1, "{:.2f}"),
    ("source_wer", "source WER", 0, "{:.2f}"),
    ("dnsmos_ovrl", "DNSMOS ovrl", 1, "{:.2f}"),
    ("dnsmos_sig", "sig", 1, "{:.2f}"),
    ("dnsmos_bak", "bak", 1, "{:.2f}"),
    ("dnsmos_p808", "P.808", 1, "{:.2f}"),
    ("f0_error_semitones", "F0 error (st)", -1, "{:.2f}"),
    ("duration_ratio", "duration ratio", 0, "{:.3f}"),
    ("rtf", "RTF", -1, "{:.3f}"),
]

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1200px;color:#222;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:right;vertical-align:top}
th{background:#f4f4f4}td.l,th.l{text-align:left}
.ci{color:#888;font-size:.8em;display:block}
.pair td{text-align:center}.pair img{width:170px;display:block;margin:.2rem auto}
audio{width:170px}.note{color:#555;max-width:900px}
"""


def _fmt(value: float, fmt: str) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else fmt.format(value)


def mel_image(wav_path: Path, png_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with torch.inference_mode():
        mel = MelSpectrogram()(torch.from_numpy(load_audio(wav_path, allow_silence=True))).numpy()
    fig, ax = plt.subplots(figsize=(3.2, 1.4), dpi=90)
    ax.imshow(mel.T, origin="lower", aspect="auto", cmap="magma", vmin=-11.5, vmax=2)
    ax.set_axis_off()
    fig.subplots_adjust(0, 0, 1, 1)
    fig.savefig(png_path)
    plt.close(fig)


def _media(path: Path, out_dir: Path, kind: str) -> str:
    """Copy (or keep) a recording inside the report folder; return its audio player and mel image."""
    media = out_dir / "media" / kind
    media.mkdir(parents=True, exist_ok=True)
    inside = path if out_dir in path.resolve().parents else media / path.name
    if inside != path:
        shutil.copyfile(path, inside)
    png = media / f"{inside.stem}.png"
    if not png.exists():
        mel_image(inside, png)
    rel = lambda p: html.escape(os.path.relpath(p, out_dir))
    return f'<audio controls preload="none" src="{rel(inside)}"></audio><img alt="mel spectrogram" src="{rel(png)}">'


def write_report(
    result: dict, out_dir: str | Path, title: str = "mediumvc evaluation", eer: dict | None = None, max_pairs: int = 40
) -> Path:
    out_dir = Path(out_dir).resolve()
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    threshold = result.get("threshold")
    parts.append(
        "<p class='note'>Means over pairs with 95 % bootstrap intervals. Speaker similarity is the cosine of "
        f"{html.escape(result.get('encoder', 'resemblyzer'))} d-vectors; SV accuracy counts conversions whose similarity to the target exceeds the EER "
        f"threshold ({_fmt(threshold, '{:.3f}')}). WER/CER are pocketsphinx transcripts of the output against the "
        "reference text, or against the transcript of the source when there is none. Failures are counted, not averaged.</p>"
    )
    parts.append(
        "<h2>Summary</h2><table><tr><th class='l'>method</th><th>pairs</th><th>failures</th>"
        + "".join(f"<th>{html.escape(label)}</th>" for _, label, _, _ in COLUMNS)
        + "</tr>"
    )
    for method, metrics in result["summary"].items():
        cells = []
        for key, _, _, fmt in COLUMNS:
            mean, low, high = metrics[key]
            ci = f"<span class='ci'>{_fmt(low, fmt)} – {_fmt(high, fmt)}</span>" if not math.isnan(mean) else ""
            cells.append(f"<td>{_fmt(mean, fmt)}{ci}</td>")
        parts.append(
            f"<tr><td class='l'>{html.escape(method)}</td><td>{metrics['pairs']}</td><td>{metrics['failures']}</td>{''.join(cells)}</tr>"
        )
    parts.append("</table>")
    if eer:
        parts.append(
            f"<h2>Speaker verification threshold</h2><p>EER {100 * eer['eer']:.2f} % at threshold {eer['threshold']:.3f} "
            f"over {eer['trials']} trials ({eer['same']} same-speaker, {eer['different']} different-speaker, seed {eer['seed']}).</p>"
        )
        if eer.get("plot"):
            parts.append(f"<img alt='score distributions' src='{html.escape(eer['plot'])}'>")
    methods = list(result["summary"])
    by_pair: dict[str, list[dict]] = {}
    for row in result["rows"]:
        by_pair.setdefault(row["pair"], []).append(row)
    parts.append(
        "<h2>Pairs</h2><table class='pair'><tr><th class='l'>pair</th><th>source</th><th>target</th>"
        + "".join(f"<th>{html.escape(m)}</th>" for m in methods)
        + "</tr>"
    )
    for label, rows in list(by_pair.items())[:max_pairs]:
        first = rows[0]
        cells = [
            f"<td class='l'>{html.escape(label)}</td>",
            f"<td>{_media(Path(first['source']), out_dir, 'sources')}</td>",
            f"<td>{_media(Path(first['targets'].split('|')[0]), out_dir, 'targets')}</td>",
        ]
        for method in methods:
            row = next((r for r in rows if r["method"] == method), None)
            if row is None or row["failed"]:
                cells.append(f"<td>failed: {html.escape(row.get('error', '') if row else 'missing')}</td>")
                continue
            stats = f"sim {row['sim_target']:.3f}" + (f", WER {row['wer']:.2f}" if "wer" in row else "")
            cells.append(f"<td>{_media(Path(row['output']), out_dir, method)}<small>{stats}</small></td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</table>")
    if len(by_pair) > max_pairs:
        parts.append(f"<p>{len(by_pair) - max_pairs} more pairs in pairs.csv.</p>")
    parts.append("</body></html>")
    index = out_dir / "index.html"
    index.write_text("\n".join(parts))
    return index
