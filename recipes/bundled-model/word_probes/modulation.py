"""Probe: give the converted mel the source's fast envelope changes (consonant onsets) before the pitch stage.

SingleVC and MediumVC keep the source's timing frame for frame, so the source's log-mel minus its own
moving average over K frames (its modulations faster than about 86/K Hz) lines up with the output. Adds
GAMMA times that to the networks' output, then the pitch stage as shipped. 11 quick pairs, first 4 s.

    python modulation.py PAIRS.tsv MODEL_DIR [--variants GAMMA:K ...]
"""
import csv, sys, numpy as np, torch, librosa
from mediumvc import SAMPLE_RATE, VoiceConverter, load_audio
from mediumvc.evaluation.pitch import median_f0, semitones
from mediumvc.evaluation.asr import Transcriber, wer
from mediumvc.evaluation.quality import dnsmos
torch.set_num_threads(2)
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))[:11]
vc = VoiceConverter.from_pretrained(sys.argv[2], device="cpu"); enc = vc.speaker_encoder
asr = Transcriber(); to16 = lambda w: librosa.resample(w, orig_sr=SAMPLE_RATE, target_sr=16000)
def fast(mel, k):  # (T, 80): mel minus its centred moving average over k frames (edges held)
    pad = torch.nn.functional.pad(mel.T[None], (k // 2, k // 2), mode="replicate")
    return mel - torch.nn.functional.avg_pool1d(pad, k, stride=1)[0].T
VARIANTS = {"none": (0.0, 9), "g0.5k9": (0.5, 9), "g1.0k9": (1.0, 9), "g1.0k5": (1.0, 5)}  # sweep 1
if len(sys.argv) > 3:  # sweep 2: --variants G:K ...
    VARIANTS = {f"g{g}k{k}": (float(g), int(k)) for g, k in (v.split(":") for v in sys.argv[4:])}
res = {}
for row in rows:
    source = vc.load_source(load_audio(row["source"])[: 4 * SAMPLE_RATE])
    tpath = row["target"].split("|")[0]
    voice = vc.target_voice([tpath]); tf0 = median_f0(load_audio(tpath), SAMPLE_RATE)
    ref = asr(to16(source))
    mel = vc.wav_mel(source)
    raw = vc.convert_mel(mel, voice.dvector)
    for name, (gamma, k) in VARIANTS.items():
        w = vc.vocode(vc.shape_pitch((raw + gamma * fast(mel, k)).clamp(0, 1), source, voice.f0))
        d = res.setdefault(name, {"sim": [], "f0": [], "wer": [], "mos": []})
        d["sim"].append(float(enc.embed([w]) @ voice.dvector)); d["f0"].append(abs(semitones(median_f0(w, SAMPLE_RATE), tf0)))
        d["wer"].append(wer(ref, asr(to16(w)))); d["mos"].append(dnsmos(to16(w))["ovrl"])
    print(row["source"].split("/")[-1], {k: (round(v["sim"][-1], 3), round(v["wer"][-1], 2)) for k, v in res.items()}, flush=True)
for k, d in res.items():
    print(k, {m: round(float(np.nanmean(v)), 3) for m, v in d.items()})
