"""Probe: move the source's pitch into the SingleVC's PSDR training range before conversion."""
import csv, sys, numpy as np, torch, librosa
from mediumvc import SAMPLE_RATE, VoiceConverter, load_audio
from mediumvc.audio import normalize_mel, PEAK
from mediumvc.pitch import track_f0, median_f0 as med
from mediumvc.psdr import pitch_shift
from mediumvc.evaluation.pitch import median_f0, semitones
from mediumvc.evaluation.asr import Transcriber, wer
from mediumvc.evaluation.quality import dnsmos
torch.set_num_threads(1)
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))[:11]
vc = VoiceConverter.from_pretrained(sys.argv[2], device="cpu"); enc = vc.speaker_encoder
asr = Transcriber(); to16 = lambda w: librosa.resample(w, orig_sr=SAMPLE_RATE, target_sr=16000)
centers = {"joe+2": 87.0 * 2 ** (2 / 12), "joe+5": 87.0 * 2 ** (5 / 12)}
res = {}
for row in rows:
    source = vc.load_source(load_audio(row["source"])[: 4 * SAMPLE_RATE])
    voice = vc.target_voice([row["target"].split("|")[0]]); tf0 = median_f0(load_audio(row["target"].split("|")[0]), SAMPLE_RATE)
    ref = asr(to16(source)); sf0 = med(track_f0(source))
    outs = {}
    mel = normalize_mel(vc.mel(torch.from_numpy(source)))
    outs["none"] = vc.vocode(vc.shape_pitch(vc.convert_mel(mel, voice.dvector), source, voice.f0))
    for name, c in centers.items():
        st = float(np.clip(12 * np.log2(c / sf0), -16, 4))
        shifted = pitch_shift(source, SAMPLE_RATE, st, backend="rubberband")
        shifted = (shifted * PEAK / np.abs(shifted).max()).astype(np.float32)
        m2 = normalize_mel(vc.mel(torch.from_numpy(shifted)))[: len(mel)]
        outs[name] = vc.vocode(vc.shape_pitch(vc.convert_mel(m2, voice.dvector), source, voice.f0))
    for k, w in outs.items():
        d = res.setdefault(k, {"sim": [], "f0": [], "wer": [], "mos": []})
        d["sim"].append(float(enc.embed([w]) @ voice.dvector)); d["f0"].append(abs(semitones(median_f0(w, SAMPLE_RATE), tf0)))
        d["wer"].append(wer(ref, asr(to16(w)))); d["mos"].append(dnsmos(to16(w))["ovrl"])
    print(row["source"].split("/")[-1], f"src f0 {sf0:.0f}", {k: round(v['wer'][-1], 2) for k, v in res.items()}, flush=True)
for k, d in res.items():
    print(k, {m: round(float(np.nanmean(v)), 3) for m, v in d.items()})
