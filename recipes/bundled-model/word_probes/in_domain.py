"""How much does a SingleVC lose on its own voice? Its validation utterances, pitch-shifted as in training.

For the validation items of a SingleVC store (the same split `mediumvc train singlevc` holds back, so
never trained on), each of the first `--variants` PSDR copies goes through each SingleVC. Reported:
L1 to the original mel; sharpness, the mean |frame-to-frame change| of the output over the original's
(an L1 regressor that averages fast changes away scores below 1); pocketsphinx WER of the vocoded
output against the true text (the corpus manifest's `text`), next to copy synthesis of the original.

    python recipes/bundled-model/word_probes/in_domain.py STORE MANIFEST.tsv SINGLEVC_DIR [SINGLEVC_DIR ...] [--variants 2]
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import librosa
import numpy as np
import torch

from mediumvc import SAMPLE_RATE
from mediumvc.checkpoint import load_part_dir
from mediumvc.converter import MelVocoder
from mediumvc.evaluation.asr import Transcriber, wer
from mediumvc.training.data import DataConfig, load_items, split_items
from mediumvc.vocoder import load_hifigan


def sharpness(mel: np.ndarray, reference: np.ndarray) -> float:
    return float(np.abs(np.diff(mel, axis=0)).mean() / max(np.abs(np.diff(reference, axis=0)).mean(), 1e-8))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("store")
    ap.add_argument("manifest", help="the corpus manifest with the text of each source file")
    ap.add_argument("singlevc", nargs="+")
    ap.add_argument("--variants", type=int, default=2)
    ap.add_argument("--val-items", type=int, default=16, help="as the training run's data.val_items")
    ap.add_argument("--seed", type=int, default=0, help="as the training run's trainer.seed")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with open(args.manifest, newline="") as fh:
        texts = {Path(r["path"]).name: r["text"] for r in csv.DictReader(fh, delimiter="\t")}
    _, val = split_items(load_items(DataConfig(store=args.store), need_psdr=True), args.val_items, args.seed)
    voc, asr = MelVocoder(load_hifigan()), Transcriber()
    hear = lambda mel: asr(librosa.resample(voc.vocode(torch.as_tensor(mel, dtype=torch.float32)), orig_sr=SAMPLE_RATE, target_sr=16000))
    refs = [texts[Path(item["source"]).name] for item in val]
    copy = np.mean([wer(t, hear(item["mel"].astype(np.float32))) for t, item in zip(refs, val)])
    for d in args.singlevc:
        net = load_part_dir(d, "singlevc").net
        l1, sharp, wers = [], [], []
        for text, item in zip(refs, val):
            target = item["mel"].astype(np.float32)
            for psdr in item["psdr"][: args.variants]:
                with torch.inference_mode():
                    out = net(torch.as_tensor(psdr, dtype=torch.float32)[None])[0].clamp(0, 1).numpy()
                l1.append(float(np.abs(out - target).mean()))
                sharp.append(sharpness(out, target))
                wers.append(wer(text, hear(out)))
        print(json.dumps({"singlevc": d, "l1": float(np.mean(l1)), "sharpness": float(np.mean(sharp)), "wer": float(np.mean(wers)),
                          "wer_copy_synthesis": float(copy), "items": len(val), "variants": args.variants}), flush=True)


if __name__ == "__main__":
    main()
