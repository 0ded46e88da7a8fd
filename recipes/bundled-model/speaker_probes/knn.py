"""Probe: pull each converted frame toward its nearest frames of the target recording (kNN on log-mels).

The networks' output (T, 80) is already close to the target voice, so its frames find the target's frames of
the same sound. Each output frame becomes (1 - A) x itself + A x the mean of its K nearest target frames
(cosine on mean-removed normalised log-mels), then the detail and pitch stages as shipped. 11 quick pairs, 4 s.

    python knn.py PAIRS.tsv MODEL_DIR [--variants A:K[:MODE] ...]

MODE: "frame" (as above), "ctx" (frames matched on a 5-frame context), "slow" (only the 13-frame moving
average of the matched frames replaces the output's own moving average: its fast changes stay), "slowctx"
(both); "slow-lowZ": "slow" with the lowest Z mel bins (the F0 range) left unmatched;
"slow-gate": "slow" faded out in the output's pauses (below its 10th level percentile, full from the 60th);
"slow-level": "slow" with each frame's level kept (the change's mean over the mel bins removed): only the
spectral shape moves, so pauses do not take the target recording's level.
"""
import sys, torch
from mediumvc import VoiceConverter
from common import Scores, quick_pairs
torch.set_num_threads(1)
vc = VoiceConverter.from_pretrained(sys.argv[2], device="cpu"); scores = Scores(vc.speaker_encoder)
VARIANTS = {"none": (0.0, 4, "frame")}
for v in sys.argv[4:]:
    a, k, mode = (v.split(":") + ["frame"])[:3]; VARIANTS[v] = (float(a), int(k), mode)
def stack(m, c):  # (T, 80) -> (T, 80 * (2c + 1)): each frame with its c neighbours on either side
    p = torch.nn.functional.pad(m.T[None], (c, c), mode="replicate")[0].T
    return torch.cat([p[i:i + len(m)] for i in range(2 * c + 1)], 1)
def slow(m, k=13):
    p = torch.nn.functional.pad(m.T[None], (k // 2, k // 2), mode="replicate")
    return torch.nn.functional.avg_pool1d(p, k, stride=1)[0].T
def knn(mel, tmel, k, c=0):  # (T, 80), (U, 80) -> (T, 80): mean of each frame's k nearest target frames
    f = torch.nn.functional.normalize(stack(mel - mel.mean(0), c), dim=1); g = torch.nn.functional.normalize(stack(tmel - tmel.mean(0), c), dim=1)
    idx = (f @ g.T).topk(min(k, len(tmel)), dim=1).indices
    return tmel[idx].mean(1)
for label, source, tpath, voice, tf0 in quick_pairs(vc, sys.argv[1]):
    tmel = vc.source_mel(tpath)
    mel = vc.wav_mel(source)
    raw = vc.convert_mel(mel, voice.dvector)
    for name, (a, k, mode) in VARIANTS.items():
        if a == 0:
            out = raw
        elif mode.startswith("slow"):
            delta = a * (slow(knn(raw, tmel, k, 2 if mode == "slowctx" else 0)) - slow(raw))
            if "-low" in mode:  # the lowest mel bins (the F0 range) left alone
                delta[:, : int(mode.split("-low")[1])] = 0
            if mode.endswith("-gate"):  # pauses left alone: full change from the 60th level percentile up, none below the 10th
                e = raw.mean(1); lo, hi = e.quantile(0.1), e.quantile(0.6)
                delta = delta * ((e - lo) / (hi - lo)).clamp(0, 1)[:, None]
            if mode.endswith("-level"):  # spectral shape only: each frame's mean over the bins unchanged
                delta = delta - delta.mean(1, keepdim=True)
            out = (raw + delta).clamp(0, 1)
        else:
            out = (1 - a) * raw + a * knn(raw, tmel, k, 2 if mode == "ctx" else 0)
        scores.add(name, vc.vocode(vc.shape_pitch(vc.add_detail(out, mel), source, voice.f0)), source, voice, tf0)
    scores.print_pair(label)
scores.print_summary()
