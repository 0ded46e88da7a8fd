"""Probe: global-variance compensation of the converted mel (after the detail stage, before the pitch stage).

Each mel bin's deviation from its own mean over time is scaled by S: "tS" = the target recording's per-bin
standard deviation over the output's (clipped to [1, MAX]), times S; "fS" = a fixed factor S for all bins.
A network trained with an L1 loss averages what it cannot predict, so its output varies less over time than
speech does. 11 quick pairs, 4 s.

    python variance.py PAIRS.tsv MODEL_DIR [--variants tS|fS ...]
"""
import csv, sys, numpy as np, torch, librosa
from mediumvc import SAMPLE_RATE, VoiceConverter, load_audio
from mediumvc.evaluation.pitch import median_f0, semitones
from mediumvc.evaluation.asr import Transcriber, wer
from mediumvc.evaluation.quality import dnsmos
torch.set_num_threads(1)
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))[:11]
vc = VoiceConverter.from_pretrained(sys.argv[2], device="cpu"); enc = vc.speaker_encoder
VARIANTS = ["none"] + sys.argv[4:]
asr = Transcriber(); to16 = lambda w: librosa.resample(w, orig_sr=SAMPLE_RATE, target_sr=16000)
def speech(mel):  # frames louder than the 30th percentile (pauses out of the statistics)
    e = mel.mean(1); return mel[e >= e.quantile(0.3)]
def gv(out, tmel, name, cap=2.0):
    if name == "none":
        return out
    s = float(name[1:]); m = speech(out).mean(0)
    ratio = (speech(tmel).std(0) / speech(out).std(0).clamp_min(1e-4)).clamp(1.0, cap) * s if name[0] == "t" else torch.full((80,), s)
    return (m + (out - m) * ratio).clamp(0, 1)
res = {}
for row in rows:
    source = vc.load_source(load_audio(row["source"])[: 4 * SAMPLE_RATE])
    tpath = row["target"].split("|")[0]
    voice = vc.target_voice([tpath]); tf0 = median_f0(load_audio(tpath), SAMPLE_RATE)
    tmel = vc.source_mel(tpath)
    ref = asr(to16(source)); mel = vc.wav_mel(source)
    out = vc.add_detail(vc.convert_mel(mel, voice.dvector), mel)
    for name in VARIANTS:
        w = vc.vocode(vc.shape_pitch(gv(out, tmel, name), source, voice.f0))
        r = res.setdefault(name, {"sim": [], "src": [], "f0": [], "wer": [], "mos": []})
        e = enc.embed([w]); r["sim"].append(float(e @ voice.dvector)); r["src"].append(float(e @ enc.embed([source])))
        r["f0"].append(abs(semitones(median_f0(w, SAMPLE_RATE), tf0)))
        r["wer"].append(wer(ref, asr(to16(w)))); r["mos"].append(dnsmos(to16(w))["ovrl"])
    print(row["source"].split("/")[-1], {k: (round(v["sim"][-1], 3), round(v["wer"][-1], 2)) for k, v in res.items()}, flush=True)
for k, d in res.items():
    print(k, {m: round(float(np.nanmean(v)), 3) for m, v in d.items()})
