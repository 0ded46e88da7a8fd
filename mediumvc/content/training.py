"""Training the content model on phone labels, with changes to the voice that keep the words.

The data is a folder of `<id>.npz` items (mels (V, T, 80) float16: the utterance and pitch-shifted copies; labels
(T,) int16, -1 = unaligned) and `index.tsv` (id, speaker, frames, how, path), as `recipes/content-model/prepare.py`
writes it. Each training crop takes one of the copies at random, then a formant warp, a speed change, a level
change and noise, each at random. Checkpoints are written atomically and a run resumes exactly: a batch is a
function of (seed, step).
"""

from __future__ import annotations

import csv
import fnmatch
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from mediumvc.audio import LOG_FLOOR
from mediumvc.content.model import ContentModel, ContentModelConfig
from mediumvc.errors import MediumVCError
from mediumvc.training.augment import warp_mel
from mediumvc.training.snapshot import read_snapshot, restore, write_snapshot

CHECKPOINT = "last.pt"


@dataclass
class ContentTrainConfig:
    """heldout: speaker globs kept out of training and used for the accuracy report."""

    model: ContentModelConfig = field(default_factory=ContentModelConfig)
    heldout: tuple[str, ...] = ("librispeech_tc100:*0", "vctk_autovc:p228")
    steps: int = 20000
    batch: int = 16
    crop: int = 192
    lr: float = 1e-3
    warmup: int = 200
    ckpt_every: int = 250
    eval_every: int = 1000
    seed: int = 0


@dataclass(eq=False)
class Item:
    speaker: str
    mels: np.ndarray  # (V, T, 80) float16
    labels: np.ndarray  # (T,) int64
    shifts: np.ndarray  # (V,) semitones of each copy


def load_items(data: Path) -> list[Item]:
    """Every labelled item of a prepared folder (items without labels are skipped)."""
    index = Path(data) / "index.tsv"
    if not index.is_file():
        raise MediumVCError(f"{data} holds no index.tsv: run recipes/content-model/prepare.py first")
    items = []
    with index.open(newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            path = Path(data) / f"{row['id']}.npz"
            if row["how"] == "none" or not path.is_file():
                continue
            with np.load(path, allow_pickle=False) as z:
                items.append(Item(row["speaker"], z["mels"], z["labels"].astype(np.int64), z["shifts"]))
    return items


def split_heldout(items: list[Item], heldout: tuple[str, ...]) -> tuple[list[Item], list[Item]]:
    is_held = [any(fnmatch.fnmatch(i.speaker, g) for g in heldout) for i in items]
    return [i for i, h in zip(items, is_held) if not h], [i for i, h in zip(items, is_held) if h]


def _stretch(mel: np.ndarray, labels: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Speed change on the frame grid: factor > 1 is faster (fewer frames); labels follow the nearest frame."""
    count = max(2, int(round(len(mel) / factor)))
    pos = np.linspace(0, len(mel) - 1, count)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, len(mel) - 1)
    w = (pos - lo)[:, None].astype(np.float32)
    out = mel[lo].astype(np.float32) * (1 - w) + mel[hi].astype(np.float32) * w
    return out, labels[np.rint(pos).astype(int)]


def _level_and_noise(mel: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Normalised log-mel with its level moved and, half of the time, noise added at 5-30 dB SNR."""
    log = (mel - 1.0) * -LOG_FLOOR + rng.uniform(-2.0, 0.5)  # natural-log magnitude
    if rng.random() < 0.5:
        peak = np.percentile(log, 95)
        snr = rng.uniform(5, 30) / 20 * np.log(10)
        noise = peak - snr + rng.normal(0, 0.5, size=(1, log.shape[1])) + rng.normal(0, 0.3, size=log.shape)
        log = np.logaddexp(log, noise)
    return np.maximum(1.0 - log / LOG_FLOOR, 0.0).astype(np.float32)


def make_crop(item: Item, crop: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One augmented training crop: (crop, 80) float32 mel and (crop,) labels."""
    mel = item.mels[int(rng.integers(len(item.mels)))]
    labels = item.labels
    need = int(crop * 1.2) + 1
    start = int(rng.integers(0, max(1, len(mel) - need)))
    mel, labels = mel[start : start + need].astype(np.float32), labels[start : start + need]
    if rng.random() < 0.5:
        mel = warp_mel(mel, float(rng.uniform(0.85, 1.18)))
    if rng.random() < 0.5:
        mel, labels = _stretch(mel, labels, float(rng.uniform(0.85, 1.15)))
    mel = _level_and_noise(mel, rng)
    out_mel = np.zeros((crop, mel.shape[1]), np.float32)
    out_lab = np.full(crop, -1, np.int64)
    n = min(crop, len(mel))
    out_mel[:n], out_lab[:n] = mel[:n], labels[:n]
    return out_mel, out_lab


def make_batch(items: list[Item], config: ContentTrainConfig, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng([config.seed, step])
    picks = rng.integers(0, len(items), size=config.batch)
    crops = [make_crop(items[i], config.crop, rng) for i in picks]
    return torch.from_numpy(np.stack([c[0] for c in crops])), torch.from_numpy(np.stack([c[1] for c in crops]))


@torch.inference_mode()
def frame_accuracy(model: ContentModel, items: list[Item], copy: str = "clean") -> float | None:
    """Share of labelled frames whose most likely phone is the label. copy: "clean" (the utterance),
    "shift:N" (its pitch-shifted copy by N semitones, where the item has one), "warp:A" (formants x A)."""
    model.eval()
    right = total = 0
    for item in items:
        if copy.startswith("shift:"):
            found = np.flatnonzero(np.isclose(item.shifts, float(copy[6:])))
            if not len(found):
                continue
            mel = item.mels[found[0]].astype(np.float32)
        else:
            mel = item.mels[0].astype(np.float32)
            if copy.startswith("warp:"):
                mel = warp_mel(mel, float(copy[5:]))
        logits = model(torch.from_numpy(mel).unsqueeze(0))[0][0]
        keep = item.labels >= 0
        right += int((logits.argmax(-1).numpy() == item.labels)[keep].sum())
        total += int(keep.sum())
    return right / total if total else None


def _lr_factor(step: int, config: ContentTrainConfig) -> float:
    """Linear warm-up, then a cosine decay to zero at the last step (a plain float: checkpoints load weights-only)."""
    return min(1.0, (step + 1) / config.warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, step / config.steps)))


def train_content_model(
    data: str | Path,
    out: str | Path,
    config: ContentTrainConfig = ContentTrainConfig(),
    log=print,
    until: int | None = None,
) -> Path:
    """Train (or resume from OUT/last.pt) to `config.steps`, or pause at step `until`; returns the checkpoint.
    OUT/log.jsonl gets one line per evaluation."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    train_items, held = split_heldout(load_items(Path(data)), config.heldout)
    if not train_items:
        raise MediumVCError(f"{data}: no labelled training items outside the held-out speakers")
    torch.manual_seed(config.seed)  # the initial weights depend on the seed only
    model = ContentModel(config.model)
    optim = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: _lr_factor(s, config))
    parts = {"model": model, "optim": optim, "sched": sched}
    step = 0
    ckpt = out / CHECKPOINT
    if snapshot := read_snapshot(ckpt):
        step = restore(snapshot, parts)
        log(f"resumed at step {step}")
    t0 = time.time()
    stop = config.steps if until is None else min(until, config.steps)
    while step < stop:
        model.train()
        torch.manual_seed(config.seed * 1_000_003 + step)  # dropout as a function of (seed, step): exact resume
        mel, labels = make_batch(train_items, config, step)
        loss = F.cross_entropy(model(mel)[0].transpose(1, 2), labels, ignore_index=-1)
        optim.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optim.step()
        sched.step()
        step += 1
        if step % config.ckpt_every == 0 or step == stop:
            write_snapshot(ckpt, step, config, parts)
        if step % config.eval_every == 0 or step == config.steps:
            row = {"step": step, "loss": round(loss.item(), 4), "seconds": round(time.time() - t0, 1)}
            for copy in ("clean", "shift:4", "shift:-6", "warp:0.85", "warp:1.18"):
                acc = frame_accuracy(model, held, copy)
                row[copy] = None if acc is None else round(acc, 4)
            with (out / "log.jsonl").open("a") as f:
                f.write(json.dumps(row) + "\n")
            log(json.dumps(row))
    return ckpt
