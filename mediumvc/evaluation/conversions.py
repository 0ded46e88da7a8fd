"""Evaluating conversions: per pair and aggregated (means with 95 % bootstrap intervals).

A pairs file is a TSV with a header: `source`, `target` (conditioning recordings, `|`-separated),
and optionally `heldout` (other recordings of the target speaker, `|`-separated, never used for
conditioning), `text` (what the source says) and `output` (a conversion made elsewhere, measured
as the method "given"). Relative paths are relative to the file.
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import librosa
import numpy as np
import torch

from mediumvc.audio import SAMPLE_RATE, load_audio, save_wav
from mediumvc.errors import MediumVCError
from mediumvc.evaluation.asr import Transcriber, cer, wer
from mediumvc.evaluation.pitch import judged_f0, semitones
from mediumvc.evaluation.quality import dnsmos


@dataclass
class Pair:
    source: Path
    targets: list[Path]
    heldout: list[Path] = field(default_factory=list)
    text: str | None = None
    output: Path | None = None  # an already converted file (evaluated as method "given")

    @property
    def label(self) -> str:
        return f"{self.source.stem}_to_{self.targets[0].stem}"


def read_pairs(path: str | Path) -> list[Pair]:
    path = Path(path)
    if not path.is_file():
        raise MediumVCError(f"pairs file {path}: no such file")
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        if not reader.fieldnames or not {"source", "target"} <= set(reader.fieldnames):
            raise MediumVCError(f"{path}: needs a header with at least 'source' and 'target' columns (tab-separated)")
        split = lambda cell: [path.parent / p.strip() for p in (cell or "").split("|") if p.strip()]
        pairs = [
            Pair(
                path.parent / row["source"],
                split(row["target"]),
                split(row.get("heldout")),
                (row.get("text") or None),
                path.parent / row["output"] if row.get("output") else None,
            )
            for row in reader
            if row.get("source")
        ]
    if not pairs:
        raise MediumVCError(f"{path} lists no pairs")
    return pairs


def bootstrap_ci(values: list[float], seed: int = 0, n: int = 1000) -> tuple[float, float, float]:
    """Mean and its 95 % percentile-bootstrap interval (NaNs dropped)."""
    v = np.array(
        [x for x in values if x is not None and not (isinstance(x, float) and math.isnan(x))], dtype=np.float64
    )
    if len(v) == 0:
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(n, len(v)))].mean(axis=1)
    return float(v.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


class GivenOutputs:
    """The conversions listed in the pairs file's `output` column, made by any system."""

    name = "given"

    def target_voice(self, recordings) -> None:
        return None

    def convert(self, source, speaker=None, name=None, output: Path | None = None) -> tuple[np.ndarray, int]:
        if output is None:
            raise MediumVCError(f"no output listed for {source}")
        return load_audio(output, allow_silence=True), SAMPLE_RATE


class Judges:
    """The measuring instruments, loaded once: speaker encoder, ASR, DNSMOS, pitch."""

    def __init__(self, encoder=None, asr: bool = True, mos: bool = True) -> None:
        from mediumvc.speaker import make_speaker_encoder

        self.encoder = encoder or make_speaker_encoder("resemblyzer")
        self.asr = Transcriber() if asr else None
        self.mos = mos
        self._cache: dict = {}

    def embed(self, recordings: list) -> torch.Tensor:
        key = tuple(str(r) for r in recordings) if all(isinstance(r, (str, Path)) for r in recordings) else None
        if key is None or key not in self._cache:
            value = self.encoder.embed(recordings)
            if key is None:
                return value
            self._cache[key] = value
        return self._cache[key]

    def describe(self, wav: np.ndarray, sr: int = SAMPLE_RATE) -> dict:
        """Reference-free measurements of one recording."""
        wav16 = librosa.resample(wav, orig_sr=sr, target_sr=16000) if sr != 16000 else wav
        out = {"seconds": len(wav) / sr, "f0": judged_f0(wav, sr)}
        if self.asr is not None:
            out["transcript"] = self.asr(wav16)
        if self.mos:
            out.update({f"dnsmos_{k}": v for k, v in dnsmos(wav16).items()})
        return out


def evaluate_pairs(
    pairs: list[Pair],
    methods: dict,
    out_dir: str | Path,
    judges: Judges,
    threshold: float | None,
    progress: bool = True,
) -> dict:
    """Convert every pair with every method, measure, aggregate. Writes audio under OUT/audio/."""
    from tqdm import tqdm

    out_dir = Path(out_dir)
    rows: list[dict] = []
    source_info: dict[Path, dict] = {}
    target_f0: dict[tuple, float] = {}
    for pair in tqdm(pairs, desc="evaluating", unit="pair", disable=not progress):
        if pair.source not in source_info:
            wav = load_audio(pair.source)
            source_info[pair.source] = judges.describe(wav)
        src = source_info[pair.source]
        key = tuple(pair.targets)
        if key not in target_f0:
            target_f0[key] = float(np.nanmedian([judged_f0(load_audio(t), SAMPLE_RATE) for t in pair.targets]))
        e_target = judges.embed(pair.targets)
        e_heldout = judges.embed(pair.heldout) if pair.heldout else None
        e_source = judges.embed([pair.source])
        reference_text = pair.text if pair.text else src.get("transcript", "")
        for name, method in methods.items():
            row = {
                "pair": pair.label,
                "method": name,
                "source": str(pair.source),
                "targets": "|".join(map(str, pair.targets)),
                "sim_source_target": float(e_source @ e_target),
                "failed": 0,
            }
            out_wav = out_dir / "audio" / name / f"{pair.label}.wav"
            try:
                start = time.perf_counter()
                if isinstance(method, GivenOutputs):
                    wav, sr = method.convert(pair.source, output=pair.output)
                else:
                    wav, sr = method.convert(str(pair.source), method.target_voice([str(t) for t in pair.targets]))
                row["rtf"] = (time.perf_counter() - start) / (len(wav) / sr)
                if not np.all(np.isfinite(wav)) or float(np.max(np.abs(wav))) < 1e-4:
                    raise MediumVCError("output is NaN or silent")
                save_wav(out_wav, wav, sr)
            except MediumVCError as e:
                row.update(failed=1, error=str(e))
                rows.append(row)
                continue
            e_conv = judges.embed([out_wav])
            info = judges.describe(wav, sr)
            row.update(
                {
                    "output": str(out_wav),
                    "sim_target": float(e_conv @ e_target),
                    "sim_heldout": float(e_conv @ e_heldout) if e_heldout is not None else math.nan,
                    "sv_accept": float(float(e_conv @ e_target) > threshold) if threshold is not None else math.nan,
                    "f0_source": src["f0"],
                    "f0_target": target_f0[key],
                    "f0_converted": info["f0"],
                    "f0_error_semitones": abs(semitones(info["f0"], target_f0[key])),
                    "duration_ratio": info["seconds"] / src["seconds"],
                }
            )
            if judges.asr is not None:
                row.update(
                    transcript=info["transcript"],
                    wer=wer(reference_text, info["transcript"]),
                    cer=cer(reference_text, info["transcript"]),
                )
                if pair.text:
                    row.update(
                        source_wer=wer(pair.text, src["transcript"]), source_cer=cer(pair.text, src["transcript"])
                    )
            if judges.mos:
                row.update({k: info[k] for k in info if k.startswith("dnsmos_")})
                row.update({f"source_{k}": src[k] for k in src if k.startswith("dnsmos_")})
            rows.append(row)
    return {
        "rows": rows,
        "summary": summarise(rows),
        "threshold": threshold,
        "encoder": getattr(judges.encoder, "name", "resemblyzer"),
    }


METRICS = [
    "sv_accept",
    "sim_target",
    "sim_heldout",
    "sim_source_target",
    "wer",
    "cer",
    "source_wer",
    "source_cer",
    "dnsmos_ovrl",
    "dnsmos_sig",
    "dnsmos_bak",
    "dnsmos_p808",
    "source_dnsmos_ovrl",
    "f0_error_semitones",
    "duration_ratio",
    "rtf",
    "failed",
]


def summarise(rows: list[dict]) -> dict:
    """method -> metric -> (mean, ci_low, ci_high); failures are counted, not averaged."""
    summary = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        summary[method] = {
            m: bootstrap_ci([r.get(m, math.nan) for r in mine if not r["failed"] or m == "failed"]) for m in METRICS
        }
        summary[method]["pairs"] = len(mine)
        summary[method]["failures"] = sum(r["failed"] for r in mine)
    return summary


def write_tables(result: dict, out_dir: str | Path) -> None:
    out_dir = Path(out_dir)
    (out_dir / "results.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
    keys = list(dict.fromkeys(k for r in result["rows"] for k in r))
    with (out_dir / "pairs.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(result["rows"])
    with (out_dir / "summary.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["method", "metric", "mean", "ci_low", "ci_high"])
        for method, metrics in result["summary"].items():
            for metric in METRICS:
                writer.writerow([method, metric, *metrics[metric]])


def make_pairs(utterances, n_pairs: int, seed: int = 0, heldout: int = 2) -> list[Pair]:
    """Seeded source/target pairs of different speakers. The target is conditioned on one of its
    utterances; up to `heldout` others of the same speaker are kept for held-out similarity."""
    rng = np.random.default_rng(seed)
    by_speaker: dict[str, list] = {}
    for u in utterances:
        by_speaker.setdefault(u.speaker, []).append(u)
    speakers = sorted(by_speaker)
    if len(speakers) < 2:
        raise MediumVCError("pairs need at least two speakers")
    pairs = []
    for _ in range(n_pairs):
        a, b = rng.choice(len(speakers), 2, replace=False)
        source = by_speaker[speakers[a]][int(rng.integers(len(by_speaker[speakers[a]])))]
        refs = [by_speaker[speakers[b]][i] for i in rng.permutation(len(by_speaker[speakers[b]]))[: 1 + heldout]]
        pairs.append(Pair(source.path, [refs[0].path], [r.path for r in refs[1:]]))
    return pairs


def write_pairs(pairs: list[Pair], path: str | Path) -> None:
    lines = ["source\ttarget\theldout\ttext"]
    lines += [
        f"{p.source}\t{'|'.join(map(str, p.targets))}\t{'|'.join(map(str, p.heldout))}\t{p.text or ''}" for p in pairs
    ]
    Path(path).write_text("\n".join(lines) + "\n")
