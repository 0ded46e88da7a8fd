"""Cheap held-out check for design comparisons: speaker-similarity gain over the source.

For each pair (source, target) of a pairs TSV: convert the first SECONDS of the source with each
model, embed with the default encoder (resemblyzer), and report the mean cosine similarity of the
output to the target clip, next to the unconverted source's. The full metrics come from
`mediumvc evaluate conversions`; this is the per-checkpoint signal used while training.
`--wer` adds pocketsphinx WER of the output against the unconverted source's transcript, `--mos`
DNSMOS overall of the output. A model with a pitch stage runs with it (`--no-pitch` leaves it out).
`--stream CHUNK LOOKAHEAD CONTEXT` converts by streaming (`mediumvc.streaming`) instead; `--vocoder fast` uses
the fast vocoder the model directories ship. A `clean_target`
column (noisy_targets.py) is what the similarity is judged against when the target given is degraded.

    python recipes/bundled-model/quick_eval.py PAIRS.tsv MODEL_DIR [MODEL_DIR ...] [--seconds 4] [--pairs-limit 12] [--wer] [--mos]
"""

from __future__ import annotations

import argparse
import csv
import json

import numpy as np
import torch

from mediumvc import SAMPLE_RATE, VoiceConverter, load_audio


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("pairs")
    ap.add_argument("models", nargs="+")
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--pairs-limit", type=int, default=12)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--wer", action="store_true", help="also pocketsphinx WER of the output vs the source's transcript")
    ap.add_argument("--mos", action="store_true", help="also DNSMOS overall of the output")
    ap.add_argument("--no-pitch", action="store_true", help="leave out the models' pitch stage")
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    ap.add_argument("--vocoder", default="default", choices=["default", "fast"], help="the models' vocoder to use")
    ap.add_argument(
        "--stream", type=float, nargs=3, metavar=("CHUNK", "LOOKAHEAD", "CONTEXT"), help="convert by streaming instead"
    )
    args = ap.parse_args()
    import librosa

    to16k = lambda w: librosa.resample(w, orig_sr=SAMPLE_RATE, target_sr=16000)
    if args.wer:
        from mediumvc.evaluation.asr import Transcriber, wer

        asr = Transcriber()
        transcribe = lambda w: asr(to16k(w))
    if args.mos:
        from mediumvc.evaluation.quality import dnsmos
    torch.set_num_threads(args.threads)
    with open(args.pairs, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))[: args.pairs_limit]
    results = {}
    for model_dir in args.models:
        vc = VoiceConverter.from_pretrained(
            model_dir,
            device="cpu",
            precision=args.precision,
            without=("pitch",) if args.no_pitch else (),
            vocoder=args.vocoder,
        )
        enc = vc.speaker_encoder
        sims, floors, to_source, wers, mos = [], [], [], [], []
        for row in rows:
            source = load_audio(row["source"])[: int(args.seconds * SAMPLE_RATE)]
            voice = vc.target_voice([row["target"].split("|")[0]])  # d-vector + median F0 (the pitch stage's)
            # judged against the clean recording when the target given was degraded (noisy_targets.py)
            target = enc.embed([row["clean_target"]]) if row.get("clean_target") else voice.dvector
            if args.stream:
                from mediumvc.streaming import StreamSettings, simulate

                chunk, lookahead, context = args.stream
                settings = StreamSettings(int(chunk), int(lookahead), context)
                wav, _ = simulate(vc, vc.front_end.load_source(source), voice, settings)
            else:
                wav, _ = vc.convert(source, voice)
            out, src = enc.embed([wav]), enc.embed([source])
            sims.append(float(out @ target))
            floors.append(float(src @ target))
            to_source.append(float(out @ src))  # high: the output still sounds like the source
            if args.wer:
                wers.append(wer(transcribe(source), transcribe(wav)))
            if args.mos:
                mos.append(dnsmos(to16k(wav))["ovrl"])
        results[model_dir] = {
            "sim_target": float(np.mean(sims)),
            "sim_source_target": float(np.mean(floors)),
            "gain": float(np.mean(sims) - np.mean(floors)),
            "sim_output_source": float(np.mean(to_source)),
            "pairs": len(rows),
        }
        if wers:
            results[model_dir]["wer"] = float(np.mean(wers))
        if mos:
            results[model_dir]["dnsmos"] = float(np.mean(mos))
        print(json.dumps({"model": model_dir, **results[model_dir]}), flush=True)


if __name__ == "__main__":
    main()
