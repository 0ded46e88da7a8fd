"""Is a SingleVC's output (the SSIF) still intelligible, and whose voice is it?

MediumVC can only put back the words its SSIF keeps, so this is the check a SingleVC must pass before
MediumVC trains on it. For the first N distinct held-out sources of a pairs TSV (first SECONDS of each):
pocketsphinx WER of the vocoded SSIF and of the copy-synthesised source against the source's own
transcript, and resemblyzer similarity of the SSIF to the source and to clips of the SingleVC voice.

    python recipes/bundled-model/ssif_check.py PAIRS.tsv SINGLEVC_DIR [SINGLEVC_DIR ...] --voice CLIP [CLIP ...]
"""

from __future__ import annotations

import argparse
import csv
import json

import librosa
import numpy as np
import torch

from mediumvc import SAMPLE_RATE
from mediumvc.checkpoint import load_part_dir
from mediumvc.evaluation.asr import Transcriber, wer
from mediumvc.mel import MelFrontEnd
from mediumvc.speaker import make_speaker_encoder
from mediumvc.vocoder import load_hifigan
from mediumvc.vocoder.chunked import MelVocoder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("pairs")
    ap.add_argument("singlevc", nargs="+")
    ap.add_argument("--voice", nargs="+", required=True, help="clips of the SingleVC's target voice")
    ap.add_argument("--sources", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with open(args.pairs, newline="") as fh:
        sources = list(dict.fromkeys(r["source"] for r in csv.DictReader(fh, delimiter="\t")))[: args.sources]
    front, vocode = MelFrontEnd(torch.device("cpu")), MelVocoder(load_hifigan())
    enc, asr = make_speaker_encoder("resemblyzer"), Transcriber()
    transcribe = lambda w: asr(librosa.resample(w, orig_sr=SAMPLE_RATE, target_sr=16000))
    voice = enc.embed(args.voice)
    wavs = [front.load_source(s)[: int(args.seconds * SAMPLE_RATE)] for s in sources]
    mels = [front.wav_mel(w) for w in wavs]
    refs = [transcribe(w) for w in wavs]
    copy_wer = np.mean([wer(r, transcribe(vocode(m))) for r, m in zip(refs, mels)])
    for d in args.singlevc:
        net = load_part_dir(d, "singlevc").net.eval()
        errors, to_voice, to_source = [], [], []
        for wav, mel, ref in zip(wavs, mels, refs):
            with torch.inference_mode():
                out = vocode(net(mel[None])[0].clamp(0, 1))
            errors.append(wer(ref, transcribe(out)))
            e = enc.embed([out])
            to_voice.append(float(e @ voice))
            to_source.append(float(e @ enc.embed([wav])))
        result = {
            "singlevc": d,
            "wer_ssif": round(float(np.mean(errors)), 3),
            "wer_copy_synthesis": round(float(copy_wer), 3),
            "sim_to_voice": round(float(np.mean(to_voice)), 3),
            "sim_to_source": round(float(np.mean(to_source)), 3),
            "sources": len(wavs),
        }
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
