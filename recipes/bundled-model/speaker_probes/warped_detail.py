"""Probe: the source-detail stage with the source's fast changes moved toward the target's formants.

The detail stage adds the source's fast log-mel changes, and with them the source's formant positions
(it raised the outputs' similarity to their own sources from 0.596 to 0.636). Here the source mel is first
warped along frequency by (target median F0 / source median F0) ** EXP, as the DSP baseline scales
formants (EXP 0.25), then its fast changes go in at GAIN. Revision 6's stages otherwise (match, pitch).
11 quick pairs, first 4 s of each source.

    python warped_detail.py PAIRS.tsv MODEL_DIR --variants GAIN:EXP ...   (0.5:0 is revision 6)
"""
import argparse, csv, numpy as np, torch, librosa
from mediumvc import SAMPLE_RATE, VoiceConverter, load_audio
from mediumvc.detail import DetailSettings, add_source_detail
from mediumvc.evaluation.pitch import median_f0, semitones
from mediumvc.evaluation.asr import Transcriber, wer
from mediumvc.evaluation.quality import dnsmos
from mediumvc.training.data import warp_mel

ap = argparse.ArgumentParser()
ap.add_argument("pairs"); ap.add_argument("model"); ap.add_argument("--variants", nargs="+", default=["0.5:0", "0.5:0.25", "0.7:0.25"])
ap.add_argument("--threads", type=int, default=1)
args = ap.parse_args()
torch.set_num_threads(args.threads)
rows = list(csv.DictReader(open(args.pairs), delimiter="\t"))[:11]
vc = VoiceConverter.from_pretrained(args.model, device="cpu", detail=False); enc = vc.speaker_encoder
asr = Transcriber(); to16 = lambda w: librosa.resample(w, orig_sr=SAMPLE_RATE, target_sr=16000)
variants = {v: tuple(map(float, v.split(":"))) for v in args.variants}
res = {}
for row in rows:
    source = vc.load_source(load_audio(row["source"])[: 4 * SAMPLE_RATE])
    tpath = row["target"].split("|")[0]
    voice = vc.target_voice([tpath]); tf0 = median_f0(load_audio(tpath), SAMPLE_RATE); sf0 = median_f0(source, SAMPLE_RATE)
    ref = asr(to16(source))
    mel = vc.wav_mel(source)
    converted = vc.match_target(vc.convert_mel(mel, voice.dvector), voice.frames)
    for name, (gain, exp) in variants.items():
        alpha = float((tf0 / sf0) ** exp) if exp and np.isfinite(tf0 / sf0) else 1.0
        detail_src = torch.from_numpy(warp_mel(mel.numpy(), alpha)) if alpha != 1.0 else mel
        w = vc.vocode(vc.shape_pitch(add_source_detail(converted, detail_src, DetailSettings(gain, 13)), source, voice.f0))
        d = res.setdefault(name, {"sim": [], "sim_src": [], "f0": [], "wer": [], "mos": []})
        e = enc.embed([w])
        d["sim"].append(float(e @ voice.dvector)); d["sim_src"].append(float(e @ enc.embed([source])))
        d["f0"].append(abs(semitones(median_f0(w, SAMPLE_RATE), tf0)))
        d["wer"].append(wer(ref, asr(to16(w)))); d["mos"].append(dnsmos(to16(w))["ovrl"])
    print(row["source"].split("/")[-1], {k: (round(v["sim"][-1], 3), round(v["wer"][-1], 2)) for k, v in res.items()}, flush=True)
for k, d in res.items():
    print(k, {m: round(float(np.nanmean(v)), 3) for m, v in d.items()})
