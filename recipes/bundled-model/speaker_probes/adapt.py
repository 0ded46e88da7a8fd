"""Probe: fine-tune MediumVC on the target recording before converting (test-time speaker adaptation).

The training objective on the target's own speech: rebuild its mel from its SSIF and its d-vector, random
128-frame crops, Adam, STEPS steps; SingleVC stays frozen. Then convert with the model's match, detail and pitch stages as
shipped. 11 quick pairs, 4 s.

    python adapt.py PAIRS.tsv MODEL_DIR [--variants STEPS:LR:PART ...]   (PART: all | decoder | eq)
"""
import copy, sys, time, torch
from mediumvc import VoiceConverter
from common import Scores, quick_pairs
torch.set_num_threads(1)
vc = VoiceConverter.from_pretrained(sys.argv[2], device="cpu"); scores = Scores(vc.speaker_encoder)
base = vc.model
VARIANTS = [tuple(v.split(":")) for v in sys.argv[4:]] or [("50", "2e-4", "all")]

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
    return net, float(loss.detach())

for label, source, tpath, voice, tf0 in quick_pairs(vc, sys.argv[1]):
    tmel = vc.source_mel(tpath); mel = vc.wav_mel(source)
    for v in [("0", "0", "all")] + VARIANTS:
        steps, lr, part = int(v[0]), float(v[1]), v[2]
        t0 = time.time()
        vc.model, loss = (base, 0.0) if steps == 0 else adapt(tmel, voice.dvector, steps, lr, part)
        secs = time.time() - t0
        wav = vc.vocode(vc.shape_pitch(vc.add_detail(vc.match_target(vc.convert_mel(mel, voice.dvector), voice.frames), mel), source, voice.f0))
        scores.add(":".join(v), wav, source, voice, tf0, secs=secs, loss=loss)
    vc.model = base
    scores.print_pair(label)
scores.print_summary()
