"""Probe: push the target d-vector away from the training speakers' mean before the networks.

d' = unit(d + B x (d - c)), c = the mean d-vector of the training speakers (one mean per speaker, from a
feature store, held-out speakers excluded as in training). The detail and pitch stages as shipped.
11 quick pairs, 4 s.

    python extrapolate.py PAIRS.tsv MODEL_DIR STORE [--betas B ...]
"""
import csv, sys, glob, os, fnmatch, numpy as np, torch, librosa
from mediumvc import SAMPLE_RATE, VoiceConverter, load_audio
from mediumvc.evaluation.pitch import median_f0, semitones
from mediumvc.evaluation.asr import Transcriber, wer
from mediumvc.evaluation.quality import dnsmos
torch.set_num_threads(1)
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))[:11]
vc = VoiceConverter.from_pretrained(sys.argv[2], device="cpu"); enc = vc.speaker_encoder
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
asr = Transcriber(); to16 = lambda w: librosa.resample(w, orig_sr=SAMPLE_RATE, target_sr=16000)
res = {}
for row in rows:
    source = vc.load_source(load_audio(row["source"])[: 4 * SAMPLE_RATE])
    tpath = row["target"].split("|")[0]
    voice = vc.target_voice([tpath]); tf0 = median_f0(load_audio(tpath), SAMPLE_RATE)
    ref = asr(to16(source)); mel = vc.wav_mel(source)
    for b in [0.0] + betas:
        d = torch.nn.functional.normalize(voice.dvector + b * (voice.dvector - centre), dim=0)
        w = vc.vocode(vc.shape_pitch(vc.add_detail(vc.convert_mel(mel, d), mel), source, voice.f0))
        r = res.setdefault(f"b{b}", {"sim": [], "src": [], "f0": [], "wer": [], "mos": []})
        e = enc.embed([w]); r["sim"].append(float(e @ voice.dvector)); r["src"].append(float(e @ enc.embed([source])))
        r["f0"].append(abs(semitones(median_f0(w, SAMPLE_RATE), tf0)))
        r["wer"].append(wer(ref, asr(to16(w)))); r["mos"].append(dnsmos(to16(w))["ovrl"])
    print(row["source"].split("/")[-1], {k: (round(v["sim"][-1], 3), round(v["wer"][-1], 2)) for k, v in res.items()}, flush=True)
for k, d in res.items():
    print(k, {m: round(float(np.nanmean(v)), 3) for m, v in d.items()})
