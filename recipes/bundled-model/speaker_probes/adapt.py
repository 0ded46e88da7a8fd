"""Probe: fine-tune MediumVC on the target recording before converting (test-time speaker adaptation).

The training objective on the target's own speech: rebuild its mel from its SSIF and its d-vector, random
128-frame crops, Adam, STEPS steps; SingleVC stays frozen. Then convert with the detail and pitch stages as
shipped. 11 quick pairs, 4 s.

    python adapt.py PAIRS.tsv MODEL_DIR [--variants STEPS:LR:PART ...]   (PART: all | decoder | eq)
"""
import copy, csv, sys, time, numpy as np, torch, librosa
from mediumvc import SAMPLE_RATE, VoiceConverter, load_audio
from mediumvc.evaluation.pitch import median_f0, semitones
from mediumvc.evaluation.asr import Transcriber, wer
from mediumvc.evaluation.quality import dnsmos
torch.set_num_threads(1)
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))[:11]
vc = VoiceConverter.from_pretrained(sys.argv[2], device="cpu"); enc = vc.speaker_encoder
base = vc.model
VARIANTS = [tuple(v.split(":")) for v in sys.argv[4:]] or [("50", "2e-4", "all")]
asr = Transcriber(); to16 = lambda w: librosa.resample(w, orig_sr=SAMPLE_RATE, target_sr=16000)

def adapt(tmel, dvec, steps, lr, part, crop=128, batch=8, seed=0):
    net = copy.deepcopy(base)
    with torch.no_grad():
        ssif = net.ssif(tmel[None])[0]
    params = {"all": net.trainable_parameters(), "decoder": list(net.decoder.parameters()) + list(net.speaker_eq.parameters()),
              "eq": list(net.speaker_eq.parameters())}[part]
    opt = torch.optim.Adam(params, lr=lr, betas=(0.8, 0.99))
    g = torch.Generator().manual_seed(seed); n = tmel.shape[0]; crop = min(crop, n)
    net.train(); net.singlevc.eval()
    for _ in range(steps):
        starts = torch.randint(0, n - crop + 1, (batch,), generator=g)
        x = torch.stack([ssif[s:s + crop] for s in starts]); y = torch.stack([tmel[s:s + crop] for s in starts])
        loss = (net.from_ssif(x, dvec[None].expand(batch, -1)) - y).abs().mean()
        opt.zero_grad(); loss.backward(); opt.step()
    net.eval()
    return net, float(loss)

res = {}
for row in rows:
    source = vc.load_source(load_audio(row["source"])[: 4 * SAMPLE_RATE])
    tpath = row["target"].split("|")[0]
    voice = vc.target_voice([tpath]); tf0 = median_f0(load_audio(tpath), SAMPLE_RATE)
    tmel = vc.source_mel(tpath)
    ref = asr(to16(source)); mel = vc.wav_mel(source)
    for v in [("0", "0", "all")] + VARIANTS:
        steps, lr, part = int(v[0]), float(v[1]), v[2]
        t0 = time.time()
        vc.model, loss = (base, 0.0) if steps == 0 else adapt(tmel, voice.dvector, steps, lr, part)
        secs = time.time() - t0
        w = vc.vocode(vc.shape_pitch(vc.add_detail(vc.convert_mel(mel, voice.dvector), mel), source, voice.f0))
        r = res.setdefault(":".join(v), {"sim": [], "src": [], "f0": [], "wer": [], "mos": [], "secs": [], "loss": []})
        e = enc.embed([w]); r["sim"].append(float(e @ voice.dvector)); r["src"].append(float(e @ enc.embed([source])))
        r["f0"].append(abs(semitones(median_f0(w, SAMPLE_RATE), tf0))); r["secs"].append(secs); r["loss"].append(loss)
        r["wer"].append(wer(ref, asr(to16(w)))); r["mos"].append(dnsmos(to16(w))["ovrl"])
    vc.model = base
    print(row["source"].split("/")[-1], {k: (round(v["sim"][-1], 3), round(v["wer"][-1], 2)) for k, v in res.items()}, flush=True)
for k, d in res.items():
    print(k, {m: round(float(np.nanmean(v)), 3) for m, v in d.items()})
