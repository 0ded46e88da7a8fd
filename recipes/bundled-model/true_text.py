"""WER against the true text: what the issue's intelligibility bar measures when the text is known.

The held-out English speakers of speech_dev come without transcripts, so `mediumvc evaluate` scores
WER against the pocketsphinx transcript of the source itself: the source scores about 0 by
construction and "1.6 x the source's WER" is about 0.03, which even copy synthesis through the
vocoder (0.14) misses fivefold. Here the sources have known text: fortune sentences (the Debian
`fortunes` collection) spoken by the flite voices awb, rms, slt and kal16 (apt-get install flite;
never in any training set here), each converted to a held-out target of a pairs TSV. Reported per
method: pocketsphinx WER / CER against the text, for the source, and the ratio to the source's.

    python recipes/bundled-model/true_text.py PAIRS.tsv [--methods identity copy-synthesis dsp mediumvc] \\
        [--model DIR ...] [--per-voice 5] [--exclude-texts MANIFEST.tsv] [--work DIR]

`--exclude-texts`: a corpus manifest whose `text` column must not be reused (the joe corpus the
SingleVC trained on draws from the same collection).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
from pathlib import Path

import librosa
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # synth_voice's sentence picker
from synth_voice import sentences  # noqa: E402

from mediumvc import SAMPLE_RATE, load_audio  # noqa: E402
from mediumvc.evaluation.asr import Transcriber, cer, wer  # noqa: E402
from mediumvc.evaluation.baselines import make_method  # noqa: E402

VOICES = ("awb", "rms", "slt", "kal16")


def pick_texts(n: int, exclude: set[str], seed: int = 7, min_words: int = 8, max_words: int = 18) -> list[str]:
    pool = [s for s in sentences() if min_words <= len(s.split()) <= max_words and s not in exclude]
    random.Random(seed).shuffle(pool)
    return pool[:n]


def synthesise(voice: str, text: str, path: Path) -> Path:
    if not path.is_file():
        tmp = path.with_suffix(".tmp.wav")
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(tmp)], check=True)
        tmp.rename(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("pairs")
    ap.add_argument("--methods", nargs="+", default=["identity", "copy-synthesis", "dsp", "mediumvc"])
    ap.add_argument(
        "--model", nargs="+", default=[None], help="model directories for the mediumvc method (default: bundled)"
    )
    ap.add_argument("--per-voice", type=int, default=5)
    ap.add_argument("--exclude-texts", default=None)
    ap.add_argument("--work", default="/tmp/true_text")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"], help="of the mediumvc method")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    exclude: set[str] = set()
    if args.exclude_texts:
        with open(args.exclude_texts, newline="") as fh:
            exclude = {r["text"] for r in csv.DictReader(fh, delimiter="\t")}
    with open(args.pairs, newline="") as fh:
        targets = list(dict.fromkeys(r["target"].split("|")[0] for r in csv.DictReader(fh, delimiter="\t")))
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    texts = pick_texts(len(VOICES) * args.per_voice, exclude)
    items = [(VOICES[i % len(VOICES)], t, targets[i % len(targets)]) for i, t in enumerate(texts)]
    sources = [synthesise(v, t, work / f"{i:03d}-{v}.wav") for i, (v, t, _) in enumerate(items)]
    asr = Transcriber()
    to16 = lambda w: librosa.resample(np.asarray(w, dtype=np.float32), orig_sr=SAMPLE_RATE, target_sr=16000)
    runs = [(m, d) for m in args.methods for d in (args.model if m == "mediumvc" else [None])]
    source_wer = None
    for method, model in runs:
        converter = make_method(method, model=model, device="cpu", precision=args.precision)
        wers, cers = [], []
        for (_voice, text, target), src in zip(items, sources):
            speaker = converter.target_voice([target])
            out, sr = converter.convert(load_audio(src), speaker)
            assert sr == SAMPLE_RATE
            hyp = asr(to16(out))
            wers.append(wer(text, hyp))
            cers.append(cer(text, hyp))
        row = {
            "method": method,
            "model": model,
            "wer": float(np.mean(wers)),
            "cer": float(np.mean(cers)),
            "items": len(items),
        }
        if method == "identity":
            source_wer = row["wer"]
        if source_wer:
            row["wer_ratio_to_source"] = row["wer"] / source_wer
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
