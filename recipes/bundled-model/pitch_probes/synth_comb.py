"""Probe: replace the converted mel's fine structure with that of a clean harmonic comb that follows the
source's F0 contour moved to the target's median (dio), keep the envelope. Post hoc, no retraining."""
import csv, sys, numpy as np, torch, librosa, pyworld
from scipy.fft import dct, idct
from mediumvc import SAMPLE_RATE, VoiceConverter, load_audio
from mediumvc.audio import denormalize_mel, normalize_mel
from mediumvc.evaluation.pitch import median_f0, semitones
from mediumvc.evaluation.asr import Transcriber, wer
from mediumvc.evaluation.quality import dnsmos
torch.set_num_threads(1)
HOP = 256

def f0_contour(wav):
    x = wav.astype(np.float64)
    f0, t = pyworld.dio(x, SAMPLE_RATE, f0_floor=60, f0_ceil=500, frame_period=1000 * HOP / SAMPLE_RATE)
    return pyworld.stonemask(x, f0, t, SAMPLE_RATE)

def lifter(lm, keep):
    c = dct(lm, type=2, norm="ortho", axis=1); c[:, keep:] = 0
    return idct(c, type=2, norm="ortho", axis=1)

def comb_fine(f0, frames, vc, keep, hnr_db):
    """log-mel fine structure (frames, 80) of a harmonic excitation following f0 (Hz per frame, 0 = unvoiced)."""
    f0 = np.interp(np.arange(frames), np.arange(len(f0)), f0)[:frames] if len(f0) != frames else f0
    voiced = f0 > 0
    fs = np.repeat(np.where(voiced, f0, 100.0), HOP)  # per-sample F0
    vs = np.repeat(voiced.astype(np.float64), HOP)
    phase = 2 * np.pi * np.cumsum(fs) / SAMPLE_RATE
    x = np.zeros_like(phase)
    for k in range(1, 140):
        on = (k * fs < 8000)
        if not on.any(): break
        x += np.cos(k * phase) * on
    x /= np.sqrt(np.mean(x ** 2) + 1e-9)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(len(x)) * (10 ** (-hnr_db / 20))
    x = x * vs + noise * vs + rng.standard_normal(len(x)) * (1 - vs)
    lm = denormalize_mel(vc.source_mel(x.astype(np.float32) * 0.1)).numpy().astype(np.float64)[:frames]
    return lm - lifter(lm, keep)

def replace(mel, fine, keep, depth):
    lm = denormalize_mel(mel).numpy().astype(np.float64)
    env = lifter(lm, keep)
    return normalize_mel(torch.from_numpy(env + depth * fine[: len(env)]).float())

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))[:11]
vc = VoiceConverter.from_pretrained(sys.argv[2], device="cpu"); enc = vc.speaker_encoder
asr = Transcriber(); to16 = lambda w: librosa.resample(w, orig_sr=SAMPLE_RATE, target_sr=16000)
variants = [(20, 20, 1.0), (20, 30, 1.0), (30, 20, 1.0), (20, 20, 0.7)]
res = {}
for row in rows:
    source = load_audio(row["source"])[: 4 * SAMPLE_RATE]
    tgt_wav = load_audio(row["target"].split("|")[0]); tgt = enc.embed([tgt_wav]); tf0 = median_f0(tgt_wav, SAMPLE_RATE)
    sf0 = f0_contour(source); tdio = f0_contour(tgt_wav)
    ratio = np.median(tdio[tdio > 0]) / np.median(sf0[sf0 > 0])
    ref = asr(to16(source))
    mel = vc.convert_mel(vc.source_mel(source), tgt)
    outs = {"none": vc.vocode(mel)}
    for keep, hnr, depth in variants:
        fine = comb_fine(sf0 * ratio, len(mel), vc, keep, hnr)
        outs[f"k{keep}_h{hnr}_d{depth}"] = vc.vocode(replace(mel, fine, keep, depth))
    for k, w in outs.items():
        d = res.setdefault(k, {"sim": [], "f0": [], "wer": [], "mos": []})
        d["sim"].append(float(enc.embed([w]) @ tgt)); d["f0"].append(abs(semitones(median_f0(w, SAMPLE_RATE), tf0)))
        d["wer"].append(wer(ref, asr(to16(w)))); d["mos"].append(dnsmos(to16(w))["ovrl"])
    print(row["source"].split("/")[-1], f"ratio {ratio:.2f}", flush=True)
    if row is rows[0]:
        import soundfile as sf
        for k, w in outs.items(): sf.write(f"/root/runs/pitch2/ex_{k}.wav", w, SAMPLE_RATE)
for k, d in res.items():
    print(k, {m: round(float(np.nanmean(v)), 3) for m, v in d.items()})
