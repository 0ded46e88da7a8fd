"""Quick pairs: the converted mel with its fine structure rebuilt by mediumvc.pitch (package code)."""
import csv, sys, numpy as np, torch, librosa
from mediumvc import SAMPLE_RATE, VoiceConverter, load_audio
from mediumvc.pitch import PitchSettings, track_f0, median_f0 as med, impose_pitch, transpose_contour, harmonic_fine_structure, _envelope
from mediumvc.audio import denormalize_mel, normalize_mel
from mediumvc.evaluation.pitch import median_f0, semitones
from mediumvc.evaluation.asr import Transcriber, wer
from mediumvc.evaluation.quality import dnsmos
torch.set_num_threads(1)
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))[:11]
vc = VoiceConverter.from_pretrained(sys.argv[2], device="cpu"); enc = vc.speaker_encoder
asr = Transcriber(); to16 = lambda w: librosa.resample(w, orig_sr=SAMPLE_RATE, target_sr=16000)
variants = {"h25_voicedonly": (25, True, 0.35), "h25_all": (25, False, 0.35), "h30_voicedonly": (30, True, 0.35), "h25_voicedonly_ap50": (25, True, 0.5)}
def impose(mel, contour, hnr, voiced_only):
    lm = denormalize_mel(mel).numpy().astype(np.float64); env = _envelope(lm, 20)
    fine = harmonic_fine_structure(contour[:len(lm)], PitchSettings(20, hnr))
    if voiced_only:
        own = lm - env; unv = contour[:len(lm)] <= 0; fine[unv] = own[unv]
    return normalize_mel(torch.from_numpy(env + fine).float()).clamp(0, 1)
res = {}
for row in rows:
    source = load_audio(row["source"])[: 4 * SAMPLE_RATE]
    tgt_wav = load_audio(row["target"].split("|")[0]); tgt = enc.embed([tgt_wav]); tf0 = median_f0(tgt_wav, SAMPLE_RATE)
    tf = med(track_f0(tgt_wav))
    ref = asr(to16(source))
    mel = vc.convert_mel(vc.source_mel(source), tgt)
    outs = {"none": vc.vocode(mel)}
    for k, (hnr, vo, ap) in variants.items():
        sf0 = track_f0(source, aperiodicity_max=ap); contour = transpose_contour(sf0, med(sf0), tf)
        outs[k] = vc.vocode(impose(mel, contour, hnr, vo))
    for k, w in outs.items():
        d = res.setdefault(k, {"sim": [], "f0": [], "wer": [], "mos": []})
        d["sim"].append(float(enc.embed([w]) @ tgt)); d["f0"].append(abs(semitones(median_f0(w, SAMPLE_RATE), tf0)))
        d["wer"].append(wer(ref, asr(to16(w)))); d["mos"].append(dnsmos(to16(w))["ovrl"])
    print(row["source"].split("/")[-1], flush=True)
for k, d in res.items():
    print(k, {m: round(float(np.nanmean(v)), 3) for m, v in d.items()})
