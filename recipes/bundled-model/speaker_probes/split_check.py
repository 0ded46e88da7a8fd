"""Does a model sound like the target speaker, or like the target recording? Split each target in halves.

The converter gets the first half of the target recording only; the output is judged (resemblyzer cosine)
against the second half, which it never saw, and against the first. Most held-out speakers here have one
recording, so this is the held-out check that all 40 pairs allow (same session and channel, other words).

    python split_check.py PAIRS.tsv MODEL_DIR [MODEL_DIR ...] [--seconds 6] [--no-match]
"""
import argparse, csv, json
import numpy as np, torch
from mediumvc import SAMPLE_RATE, VoiceConverter, load_audio

ap = argparse.ArgumentParser()
ap.add_argument("pairs"); ap.add_argument("models", nargs="+")
ap.add_argument("--seconds", type=float, default=6.0); ap.add_argument("--no-match", action="store_true")
args = ap.parse_args()
torch.set_num_threads(1)
rows = list(csv.DictReader(open(args.pairs), delimiter="\t"))
for model in args.models:
    vc = VoiceConverter.from_pretrained(model, device="cpu", match=not args.no_match); enc = vc.speaker_encoder
    seen, unseen, source_unseen = [], [], []
    for row in rows:
        target = load_audio(row["target"].split("|")[0]); half = len(target) // 2
        first, second = target[:half], target[half:]
        source = load_audio(row["source"])[: int(args.seconds * SAMPLE_RATE)]
        wav, _ = vc.convert(source, vc.target_voice([first]))
        out = enc.embed([wav])
        seen.append(float(out @ enc.embed([first]))); unseen.append(float(out @ enc.embed([second])))
        source_unseen.append(float(enc.embed([source]) @ enc.embed([second])))
    print(json.dumps({"model": model, "match": not args.no_match, "pairs": len(rows), "sim_seen_half": round(float(np.mean(seen)), 4),
                      "sim_unseen_half": round(float(np.mean(unseen)), 4), "source_unseen_half": round(float(np.mean(source_unseen)), 4)}), flush=True)
