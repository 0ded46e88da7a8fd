"""Probe: global-variance compensation of the converted mel (after the detail stage, before the pitch stage).

Each mel bin's deviation from its own mean over time is scaled by S: "tS" = the target recording's per-bin
standard deviation over the output's (clipped to [1, MAX]), times S; "fS" = a fixed factor S for all bins.
A network trained with an L1 loss averages what it cannot predict, so its output varies less over time than
speech does. 11 quick pairs, 4 s.

    python variance.py PAIRS.tsv MODEL_DIR [--variants tS|fS ...]
"""
import sys, torch
from mediumvc import VoiceConverter
from common import Scores, quick_pairs
torch.set_num_threads(1)
vc = VoiceConverter.from_pretrained(sys.argv[2], device="cpu"); scores = Scores(vc.speaker_encoder)
VARIANTS = ["none"] + sys.argv[4:]
def speech(mel):  # frames louder than the 30th percentile (pauses out of the statistics)
    e = mel.mean(1); return mel[e >= e.quantile(0.3)]
def gv(out, tmel, name, cap=2.0):
    if name == "none":
        return out
    s = float(name[1:]); m = speech(out).mean(0)
    ratio = (speech(tmel).std(0) / speech(out).std(0).clamp_min(1e-4)).clamp(1.0, cap) * s if name[0] == "t" else torch.full((80,), s)
    return (m + (out - m) * ratio).clamp(0, 1)
for label, source, tpath, voice, tf0 in quick_pairs(vc, sys.argv[1]):
    tmel = vc.source_mel(tpath); mel = vc.wav_mel(source)
    out = vc.add_detail(vc.match_target(vc.convert_mel(mel, voice.dvector), voice.frames), mel)
    for name in VARIANTS:
        scores.add(name, vc.vocode(vc.shape_pitch(gv(out, tmel, name), source, voice.f0)), source, voice, tf0)
    scores.print_pair(label)
scores.print_summary()
