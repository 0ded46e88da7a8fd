"""EER and its threshold on a corpus: seeded, balanced same/different-speaker trials
scored by the cosine of d-vectors."""

from __future__ import annotations

import numpy as np

from mediumvc.data.corpus import Utterance
from mediumvc.errors import MediumVCError
from mediumvc.speaker.eer import equal_error_rate


def make_trials(utterances: list[Utterance], n_trials: int, seed: int = 0) -> list[tuple[int, int, int]]:
    """(i, j, same) index triples: half same-speaker pairs (speakers with >= 2 utterances), half
    different-speaker pairs, drawn with a seeded RNG."""
    rng = np.random.default_rng(seed)
    by_speaker: dict[str, list[int]] = {}
    for i, u in enumerate(utterances):
        by_speaker.setdefault(u.speaker, []).append(i)
    multi = [v for v in by_speaker.values() if len(v) >= 2]
    speakers = list(by_speaker)
    if not multi or len(speakers) < 2:
        raise MediumVCError("EER needs at least one speaker with two utterances and at least two speakers")
    trials = []
    for k in range(n_trials):
        if k % 2 == 0:
            pool = multi[int(rng.integers(len(multi)))]
            i, j = rng.choice(pool, 2, replace=False)
            trials.append((int(i), int(j), 1))
        else:
            a, b = rng.choice(len(speakers), 2, replace=False)
            i = by_speaker[speakers[a]][int(rng.integers(len(by_speaker[speakers[a]])))]
            j = by_speaker[speakers[b]][int(rng.integers(len(by_speaker[speakers[b]])))]
            trials.append((i, j, 0))
    return trials


def corpus_eer(
    utterances: list[Utterance], encoder, n_trials: int = 2000, seed: int = 0, progress: bool = True
) -> dict:
    """Embed the utterances the trials need (once each), score, and return EER, threshold and scores."""
    from tqdm import tqdm

    trials = make_trials(utterances, n_trials, seed)
    needed = sorted({i for t in trials for i in t[:2]})
    embeddings, failed = {}, []
    for i in tqdm(needed, desc="embedding", unit="utt", disable=not progress):
        try:
            embeddings[i] = encoder.embed(utterances[i].path)
        except MediumVCError as e:
            failed.append(f"{utterances[i].path}: {e}")
    kept = [(i, j, s) for i, j, s in trials if i in embeddings and j in embeddings]
    scores = np.array([float(embeddings[i] @ embeddings[j]) for i, j, _ in kept])
    labels = np.array([s for _, _, s in kept])
    eer, threshold = equal_error_rate(scores, labels)
    return {
        "eer": eer,
        "threshold": threshold,
        "trials": len(kept),
        "same": int(labels.sum()),
        "different": int((1 - labels).sum()),
        "scores": scores.tolist(),
        "labels": labels.tolist(),
        "unreadable": failed,
        "seed": seed,
    }


def plot_scores(result: dict, path) -> None:
    """Histogram of same- and different-speaker scores with the EER threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores, labels = np.array(result["scores"]), np.array(result["labels"])
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=110)
    bins = np.linspace(min(scores.min(), 0), 1, 60)
    ax.hist(scores[labels == 1], bins, alpha=0.6, label="same speaker")
    ax.hist(scores[labels == 0], bins, alpha=0.6, label="different speakers")
    ax.axvline(
        result["threshold"],
        color="k",
        ls="--",
        label=f"threshold {result['threshold']:.3f} (EER {100 * result['eer']:.2f} %)",
    )
    ax.set_xlabel("cosine similarity of d-vectors")
    ax.set_ylabel("trials")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
