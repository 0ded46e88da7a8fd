"""Does the nearest target frame say the same phone? The target-matching stage's search, checked on labels.

For held-out speakers of a prepared folder (prepare.py): each utterance is a source, and the utterances of
another held-out speaker are the reference. For every labelled source frame, the nearest reference frame is
found by mel cosine (the matcher with content 0), by content embedding (content 1) and by both (0.5); the
figure is how often its pocketsphinx label is the source frame's (silence frames left out on both sides).

    python recipes/content-model/match_check.py DATA CONTENT_MODEL_DIR [--pairs 40]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from mediumvc.checkpoint import load_part_dir
from mediumvc.content.training import load_items, split_heldout
from mediumvc.stages.match import ContentMatch, nearest_frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("content_model")
    ap.add_argument("--pairs", type=int, default=40)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = load_part_dir(args.content_model, "content").net.eval()
    _, held = split_heldout(load_items(args.data), ("librispeech_tc100:*0", "vctk_autovc:p228"))
    by_speaker: dict[str, list] = {}
    for item in held:
        by_speaker.setdefault(item.speaker, []).append(item)
    speakers = sorted(by_speaker)
    rng = np.random.default_rng(0)
    hits = {share: [] for share in (0.0, 0.5, 1.0)}
    for _ in range(args.pairs):
        a, b = rng.choice(len(speakers), 2, replace=False)
        source = by_speaker[speakers[a]][int(rng.integers(len(by_speaker[speakers[a]])))]
        refs = by_speaker[speakers[b]]
        mel = torch.from_numpy(source.mels[0].astype(np.float32))
        ref_mels = [torch.from_numpy(r.mels[0].astype(np.float32)) for r in refs]
        ref_labels = np.concatenate([r.labels for r in refs])
        ref_mel = torch.cat(ref_mels)
        keep_ref = torch.from_numpy(ref_labels > 0)  # speech frames only, as the stage keeps them
        src_content, _ = model.features(mel)
        ref_content = torch.cat([model.features(m)[0] for m in ref_mels])
        speech = source.labels > 0
        labels, candidates = ref_labels[keep_ref.numpy()], ref_mel[keep_ref]
        for share in hits:
            picked = nearest_frames(mel, candidates, 1, ContentMatch(src_content, ref_content[keep_ref]), share)
            which = (picked[:, None, :] == candidates[None, :, :]).all(-1).float().argmax(1)  # k=1: a copy of one
            hits[share].append(float((labels[which.numpy()] == source.labels)[speech].mean()))
    print(json.dumps({f"content {share}": round(float(np.mean(v)), 3) for share, v in hits.items()}))


if __name__ == "__main__":
    main()
