"""Probe: after the pitch stage, move the output's long-term average log-mel toward the target recordings'."""
import csv, sys, numpy as np, torch, librosa
from mediumvc import SAMPLE_RATE, VoiceConverter, load_audio
from mediumvc.audio import normalize_mel, denormalize_mel
from mediumvc.pitch import _envelope
from mediumvc.evaluation.pitch import median_f0, semitones
from mediumvc.evaluation.asr import Transcriber, wer
from mediumvc.evaluation.quality import dnsmos
torch.set_num_threads(1)
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))[:11]
vc = VoiceConverter.from_pretrained(sys.argv[2], device="cpu"); enc = vc.speaker_encoder
asr = Transcriber(); to16 = lambda w: librosa.resample(w, orig_sr=SAMPLE_RATE, target_sr=16000)
def ltas(lm):  # mean log-mel over the loudest 60 % of frames
    e = lm.mean(1); keep = e >= np.percentile(e, 40); return lm[keep].mean(0)
def match(mel, tmel, alpha, lifter=12):
    lm = denormalize_mel(mel).numpy().astype(np.float64); tl = denormalize_mel(tmel).numpy().astype(np.float64)
    off = ltas(tl) - ltas(lm)
    off = _envelope(off[None], lifter)[0] * alpha
    e = lm.mean(1); w = np.clip((e - np.percentile(e, 10)) / (np.percentile(e, 60) - np.percentile(e, 10) + 1e-9), 0, 1)  # pauses untouched
    return normalize_mel(torch.from_numpy(lm + w[:, None] * off[None]).float()).clamp(0, 1)
res = {}
for row in rows:
    source = vc.load_source(load_audio(row["source"])[: 4 * SAMPLE_RATE])
    tpath = row["target"].split("|")[0]
    voice = vc.target_voice([tpath]); tf0 = median_f0(load_audio(tpath), SAMPLE_RATE)
    tmel = vc.source_mel(tpath)
    ref = asr(to16(source))
    _, out = vc.convert_to_mel(source, voice)
    outs = {"none": vc.vocode(out), "a0.5": vc.vocode(match(out, tmel, 0.5)), "a1.0": vc.vocode(match(out, tmel, 1.0))}
    for k, w in outs.items():
        d = res.setdefault(k, {"sim": [], "f0": [], "wer": [], "mos": []})
        d["sim"].append(float(enc.embed([w]) @ voice.dvector)); d["f0"].append(abs(semitones(median_f0(w, SAMPLE_RATE), tf0)))
        d["wer"].append(wer(ref, asr(to16(w)))); d["mos"].append(dnsmos(to16(w))["ovrl"])
    print(row["source"].split("/")[-1], {k: round(v['sim'][-1], 3) for k, v in res.items()}, flush=True)
for k, d in res.items():
    print(k, {m: round(float(np.nanmean(v)), 3) for m, v in d.items()})
