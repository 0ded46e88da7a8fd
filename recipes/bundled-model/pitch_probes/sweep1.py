"""Quick pairs: the converted mel with its fine structure rebuilt by mediumvc.pitch (package code)."""
import csv, sys, numpy as np, torch, librosa
from mediumvc import SAMPLE_RATE, VoiceConverter, load_audio
from mediumvc.pitch import PitchSettings, track_f0, median_f0 as med, impose_pitch, transpose_contour
from mediumvc.evaluation.pitch import median_f0, semitones
from mediumvc.evaluation.asr import Transcriber, wer
from mediumvc.evaluation.quality import dnsmos
torch.set_num_threads(1)
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))[:11]
vc = VoiceConverter.from_pretrained(sys.argv[2], device="cpu"); enc = vc.speaker_encoder
asr = Transcriber(); to16 = lambda w: librosa.resample(w, orig_sr=SAMPLE_RATE, target_sr=16000)
variants = {"l20h20": PitchSettings(20, 20), "l16h20": PitchSettings(16, 20), "l20h15": PitchSettings(20, 15)}
res = {}
for row in rows:
    source = load_audio(row["source"])[: 4 * SAMPLE_RATE]
    tgt_wav = load_audio(row["target"].split("|")[0]); tgt = enc.embed([tgt_wav]); tf0 = median_f0(tgt_wav, SAMPLE_RATE)
    sf0 = track_f0(source); contour = transpose_contour(sf0, med(sf0), med(track_f0(tgt_wav)))
    ref = asr(to16(source))
    mel = vc.convert_mel(vc.source_mel(source), tgt)
    outs = {"none": vc.vocode(mel)}
    for k, s in variants.items():
        outs[k] = vc.vocode(impose_pitch(mel, contour, s))
    for k, w in outs.items():
        d = res.setdefault(k, {"sim": [], "f0": [], "wer": [], "mos": []})
        d["sim"].append(float(enc.embed([w]) @ tgt)); d["f0"].append(abs(semitones(median_f0(w, SAMPLE_RATE), tf0)))
        d["wer"].append(wer(ref, asr(to16(w)))); d["mos"].append(dnsmos(to16(w))["ovrl"])
    print(row["source"].split("/")[-1], flush=True)
for k, d in res.items():
    print(k, {m: round(float(np.nanmean(v)), 3) for m, v in d.items()})
