"""More training speakers for MediumVC by speed perturbation (Kaldi-style): each training LibriSpeech clip
played FACTOR times faster (pitch and formants x FACTOR, duration / FACTOR) becomes a new speaker.

Writes OUT/manifest.tsv, the speech_dev manifest plus one new row per training LibriSpeech clip
(speaker `lsspeed:<id>@<factor>`, factor drawn from FACTORS), and links OUT/<folder> to speech_dev's
folders, so `mediumvc preprocess OUT/manifest.tsv STORE` (on a copy of the speech_dev store) computes
only the new clips. Held-out speakers (ids ending in 0) are left out.

    python speed_speakers.py ../shared/data/speech_dev ~/runs/aug_corpus [--factors 0.9 1.1] [--seed 0]
"""
import argparse, csv, os, random
from pathlib import Path

import librosa, soundfile as sf

ap = argparse.ArgumentParser()
ap.add_argument("corpus"); ap.add_argument("out")
ap.add_argument("--factors", nargs="+", type=float, default=[0.9, 1.1]); ap.add_argument("--seed", type=int, default=0)
args = ap.parse_args()
corpus, out = Path(args.corpus).resolve(), Path(args.out)
(out / "lsspeed").mkdir(parents=True, exist_ok=True)
for d in corpus.iterdir():
    if d.is_dir() and not (out / d.name).exists():
        os.symlink(d, out / d.name)
rows = list(csv.DictReader(open(corpus / "manifest.tsv"), delimiter="\t"))
rng = random.Random(args.seed)
new = []
for row in rows:
    spk = row["speaker"]
    if not spk.startswith("librispeech_tc100:") or spk.endswith("0"):
        continue
    factor = rng.choice(args.factors)
    wav, sr = librosa.load(corpus / row["path"], sr=None)
    fast = librosa.resample(wav, orig_sr=sr, target_sr=round(sr / factor))  # played at sr: x factor
    rel = f"lsspeed/{spk.split(':')[1]}_{factor}.wav"
    tmp = out / (rel + ".tmp.wav")
    sf.write(tmp, fast, sr, subtype="PCM_16"); os.replace(tmp, out / rel)
    new.append({**row, "path": rel, "speaker": f"lsspeed:{spk.split(':')[1]}@{factor}", "source": "lsspeed",
                "seconds": f"{len(fast) / sr:.2f}", "licence": row["licence"] + " (speed-perturbed)"})
with open(out / "manifest.tsv", "w", newline="") as fh:
    w = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter="\t")
    w.writeheader(); w.writerows(rows + new)
print(f"{len(new)} new speakers in {out / 'manifest.tsv'}")
