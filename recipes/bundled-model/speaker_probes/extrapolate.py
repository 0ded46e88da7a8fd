"""Probe: push the target d-vector away from the training speakers' mean before the networks.

d' = unit(d + B x (d - c)), c = the mean d-vector of the training speakers (one mean per speaker, from a
feature store, held-out speakers excluded as in training). The model's match, detail and pitch stages as shipped.
11 quick pairs, 4 s.

    python extrapolate.py PAIRS.tsv MODEL_DIR STORE [--betas B ...]
"""
import csv, sys, os, fnmatch, numpy as np, torch
from mediumvc import VoiceConverter
from common import Scores, quick_pairs
torch.set_num_threads(1)
vc = VoiceConverter.from_pretrained(sys.argv[2], device="cpu"); scores = Scores(vc.speaker_encoder)
EXCLUDE = ["librispeech_tc100:*0", "vctk_autovc:p228"]
per_speaker = {}
for line in list(csv.DictReader(open(os.path.join(sys.argv[3], "manifest.tsv")), delimiter="\t")):
    if any(fnmatch.fnmatch(line["speaker"], p) for p in EXCLUDE):
        continue
    path = os.path.join(sys.argv[3], "items", line["uid"] + ".npz")
    per_speaker.setdefault(line["speaker"], []).append(np.load(path)["dvector"])
centre = torch.from_numpy(np.mean([np.mean(v, 0) for v in per_speaker.values()], 0)).float()
print("training speakers", len(per_speaker), "centre norm", float(centre.norm()), flush=True)
betas = [float(b) for b in sys.argv[5:]] if len(sys.argv) > 4 else [0.5, 1.0]
for label, source, tpath, voice, tf0 in quick_pairs(vc, sys.argv[1]):
    mel = vc.wav_mel(source)
    for b in [0.0] + betas:
        d = torch.nn.functional.normalize(voice.dvector + b * (voice.dvector - centre), dim=0)
        scores.add(f"b{b}", vc.vocode(vc.shape_pitch(vc.add_detail(vc.match_target(vc.convert_mel(mel, d), voice.frames), mel), source, voice.f0)), source, voice, tf0)
    scores.print_pair(label)
scores.print_summary()
