"""More training speakers for MediumVC by speed perturbation (Kaldi-style): each training clip played
FACTOR times faster (pitch and formants x FACTOR, duration / FACTOR) becomes a clip of a new speaker.

Writes OUT/manifest.tsv, the speech_dev manifest plus the new rows (speaker `<prefix>:<id>@<factor>`), and
links OUT/<folder> to speech_dev's folders, so `mediumvc preprocess OUT/manifest.tsv STORE` (on a copy of the
speech_dev store) computes only the new clips. Held-out speakers are never used.

Default (revision 7's first try): LibriSpeech training clips, one factor drawn per clip.
`--every-factor` plays each clip at every factor; `--sources` picks the speakers (globs); `--per-speaker N`
caps the clips taken from one speaker (Fish Fillets voices have ~650 each; new voices should not swamp
the batches).

    python speed_speakers.py ../shared/data/speech_dev ~/runs/aug_corpus [--factors 0.9 1.1] [--seed 0]
    python speed_speakers.py ../shared/data/speech_dev ~/runs/aug2_corpus --every-factor \
        --factors 0.85 0.9 1.1 1.15 --sources 'librispeech_tc100:*' 'vctk_autovc:*' 'fillets_*:*_fish' --per-speaker 30
"""

import argparse
import csv
import fnmatch
import os
import random
from pathlib import Path

import librosa
import soundfile as sf

HELD_OUT = ["librispeech_tc100:*0", "vctk_autovc:p228"]  # as the recipe's data.exclude

ap = argparse.ArgumentParser()
ap.add_argument("corpus")
ap.add_argument("out")
ap.add_argument("--factors", nargs="+", type=float, default=[0.9, 1.1])
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--every-factor", action="store_true", help="each clip at every factor (default: one drawn per clip)")
ap.add_argument("--sources", nargs="+", default=["librispeech_tc100:*"], help="speaker globs to perturb")
ap.add_argument("--per-speaker", type=int, default=0, help="at most N clips per source speaker (0: all)")
args = ap.parse_args()
corpus, out = Path(args.corpus).resolve(), Path(args.out)
for d in corpus.iterdir():
    if d.is_dir() and not (out / d.name).exists():
        out.mkdir(parents=True, exist_ok=True)
        os.symlink(d, out / d.name)
rows = list(csv.DictReader(open(corpus / "manifest.tsv"), delimiter="\t"))
rng = random.Random(args.seed)
taken: dict[str, int] = {}
new = []
for row in rows:
    spk = row["speaker"]
    if not any(fnmatch.fnmatch(spk, g) for g in args.sources) or any(fnmatch.fnmatch(spk, g) for g in HELD_OUT):
        continue
    if args.per_speaker and taken.get(spk, 0) >= args.per_speaker:
        continue
    taken[spk] = taken.get(spk, 0) + 1
    corp, name = spk.split(":")
    prefix = "lsspeed" if corp == "librispeech_tc100" else f"{corp}_speed"
    factors = args.factors if args.every_factor else [rng.choice(args.factors)]
    wav, sr = librosa.load(corpus / row["path"], sr=None)
    for factor in factors:
        fast = librosa.resample(wav, orig_sr=sr, target_sr=round(sr / factor))  # played at sr: x factor
        rel = (
            f"{prefix}/{name}_{Path(row['path']).stem}_{factor}.wav"
            if args.every_factor or prefix != "lsspeed"
            else f"lsspeed/{name}_{factor}.wav"
        )  # the first run's names
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        tmp = out / (rel + ".tmp.wav")
        sf.write(tmp, fast, sr, subtype="PCM_16")
        os.replace(tmp, out / rel)
        new.append(
            {
                **row,
                "path": rel,
                "speaker": f"{prefix}:{name}@{factor}",
                "source": prefix,
                "seconds": f"{len(fast) / sr:.2f}",
                "licence": row["licence"] + " (speed-perturbed)",
            }
        )
with open(out / "manifest.tsv", "w", newline="") as fh:
    w = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter="\t")
    w.writeheader()
    w.writerows(rows + new)
print(f"{len(new)} new clips of {len({r['speaker'] for r in new})} new speakers in {out / 'manifest.tsv'}")
