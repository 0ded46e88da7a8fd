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
variants = {"h30_noise": (30, "noise", 0.35), "h25_noise": (25, "noise", 0.35), "h30_noise_ap50": (30, "noise", 0.5)}
import mediumvc.pitch as P
from mediumvc.audio import N_FFT, SAMPLE_RATE as SR
def fine_noise(f0, hnr, lifter=20):
    freqs = np.arange(N_FFT // 2 + 1) * SR / N_FFT
    floor = (0.5 * 10 ** (-hnr / 20)) ** 2
    rng = np.random.default_rng(0)
    block = np.asarray(f0, dtype=np.float64); voiced = block > 0
    hz = np.where(voiced, block, 1.0)[:, None]; nearest = np.rint(freqs[None, :] / hz)
    z = rng.standard_normal((len(block), len(freqs))) ** 2 + rng.standard_normal((len(block), len(freqs))) ** 2
    power = floor * z / 2
    for step in (-2, -1, 0, 1, 2):
        h = nearest + step
        valid = (h >= 1) & (h * hz < SR / 2) & voiced[:, None]
        offset = (freqs[None, :] - h * hz) * N_FFT / SR
        power += np.where(valid, P._hann_response(offset) ** 2, 0.0)
    lm = np.log(np.maximum(np.sqrt(power) @ P._mel_basis().T, 1e-5))
    return lm - P._envelope(lm, lifter)
def impose(mel, contour, hnr, voiced_only):
    lm = denormalize_mel(mel).numpy().astype(np.float64); env = _envelope(lm, 20)
    fine = fine_noise(contour[:len(lm)], hnr) if voiced_only == "noise" else harmonic_fine_structure(contour[:len(lm)], PitchSettings(20, hnr))
    if voiced_only is True:
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
