"""Probe: the source-detail stage with the source's fast changes moved toward the target's formants.

The detail stage adds the source's fast log-mel changes, and with them the source's formant positions
(it raised the outputs' similarity to their own sources from 0.596 to 0.636). Here the source mel is first
warped along frequency by (target median F0 / source median F0) ** EXP, as the DSP baseline scales
formants (EXP 0.25), then its fast changes go in at GAIN. Revision 6's stages otherwise (match, pitch).
11 quick pairs, first 4 s of each source.

    python warped_detail.py PAIRS.tsv MODEL_DIR --variants GAIN:EXP ...   (0.5:0 is revision 6)
"""
import argparse, numpy as np, torch
from mediumvc import SAMPLE_RATE, VoiceConverter
from mediumvc.detail import DetailSettings, add_source_detail
from mediumvc.evaluation.pitch import median_f0
from mediumvc.training.data import warp_mel
from common import Scores, quick_pairs

ap = argparse.ArgumentParser()
ap.add_argument("pairs"); ap.add_argument("model"); ap.add_argument("--variants", nargs="+", default=["0.5:0", "0.5:0.25", "0.7:0.25"])
ap.add_argument("--threads", type=int, default=1)
args = ap.parse_args()
torch.set_num_threads(args.threads)
vc = VoiceConverter.from_pretrained(args.model, device="cpu", detail=False); scores = Scores(vc.speaker_encoder)
variants = {v: tuple(map(float, v.split(":"))) for v in args.variants}
for label, source, tpath, voice, tf0 in quick_pairs(vc, args.pairs):
    mel = vc.wav_mel(source)
    converted = vc.match_target(vc.convert_mel(mel, voice.dvector), voice.frames)
    ratio = tf0 / median_f0(source, SAMPLE_RATE)
    for name, (gain, exp) in variants.items():
        alpha = float(ratio ** exp) if exp and np.isfinite(ratio) else 1.0
        detail_src = torch.from_numpy(warp_mel(mel.numpy(), alpha)) if alpha != 1.0 else mel
        scores.add(name, vc.vocode(vc.shape_pitch(add_source_detail(converted, detail_src, DetailSettings(gain, 13)), source, voice.f0)),
                   source, voice, tf0)
    scores.print_pair(label)
scores.print_summary()
