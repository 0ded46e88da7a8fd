"""Training batches from the feature store.

A batch is a pure function of (seed, batch index), so a resumed run sees exactly the batches it
would have seen, without saving any sampler state: the stream just restarts at the global step.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from mediumvc.data.store import item_path, read_item, read_manifest
from mediumvc.errors import MediumVCError
from mediumvc.training.augment import OnlinePSDR, warp_mel


@dataclass
class DataConfig:
    store: str = ""
    speakers: list[str] = field(default_factory=list)  # globs to train on (SingleVC: its one target voice)
    exclude: list[str] = field(default_factory=list)  # globs never used (held-out speakers)
    batch_size: int = 4
    crop_frames: int | None = None  # None = whole utterances (the paper); CPU presets crop
    val_items: int = 16  # utterances held back from the training speakers for validation
    min_frames: int = 32
    ssif: str = ""  # MediumVC only: a `mediumvc precompute-ssif` folder, read instead of running SingleVC
    # SingleVC only: a PSDR backend (rubberband / sox / librosa) shifts each input while training,
    # a fresh shift in [psdr_low, psdr_high] every time, instead of reading the store's K variants
    psdr_online: str = ""
    psdr_low: int = -6
    psdr_high: int = 4
    # SingleVC only, not in the paper: scale each input's frequency axis by a factor drawn from
    # [low, high] (formants of longer / shorter vocal tracts than the target voice's), e.g. [0.85, 1.2]
    input_warp: list[float] | None = None
    # SingleVC only, not in the paper: other speakers (globs) whose utterances are inputs too, `foreign_batch`
    # of them beside each batch. No mel of theirs in the SingleVC voice exists, so no L1: loss.content keeps
    # their words and loss.voice pulls the output to the SingleVC voice.
    foreign: list[str] = field(default_factory=list)
    foreign_batch: int = 0
    # MediumVC with model `source_detail` only: the network sees the fast changes of a copy of the target
    # whose frequency axis is scaled by a factor drawn from [low, high], so they carry words, not the voice
    detail_warp: list[float] = field(default_factory=lambda: [0.85, 1.2])
    # d-vector (GE2E) only: N speakers x M utterances of seg_len frames; whole speakers held out for EER
    speakers_per_batch: int = 64
    utterances_per_speaker: int = 10
    seg_len: int = 160
    val_speakers: int = 8
    split_utterances: bool = False  # cut long utterances into segment-long pieces (speakers with one long recording)


def _match(speaker: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(speaker, p) for p in patterns)


def load_items(config: DataConfig, need_psdr: bool) -> list[dict]:
    """Store items of the selected speakers, in memory (mel fp16). Sorted, so splits are stable."""
    rows = read_manifest(config.store)
    rows = [
        r
        for r in rows
        if (not config.speakers or _match(r["speaker"], config.speakers)) and not _match(r["speaker"], config.exclude)
    ]
    rows = [r for r in rows if r["frames"] >= config.min_frames]
    if not rows:
        raise MediumVCError(
            f"no utterances in {config.store} match speakers={config.speakers} exclude={config.exclude}"
        )
    items = []
    if need_psdr and config.psdr_online:
        from mediumvc.psdr import check_backend

        check_backend(config.psdr_online)
        need_psdr = False
    if config.ssif:
        from mediumvc.training.ssif import read_ssif, read_ssif_info

        read_ssif_info(config.ssif)
    for r in sorted(rows, key=lambda r: r["uid"]):
        item = read_item(item_path(Path(config.store), r["uid"]))
        if need_psdr and "psdr_mels" not in item:
            raise MediumVCError(
                f"{r['uid']} has no PSDR variants: preprocess with --psdr-variants K (and --psdr-speakers for this speaker), "
                "or shift while training with data.psdr_online=BACKEND"
            )
        items.append(
            {
                "uid": r["uid"],
                "speaker": r["speaker"],
                "source": r["source"],
                "mel": item["mel"],
                "dvector": item["dvector"],
                "psdr": item.get("psdr_mels"),
                "dvector_mel": item.get("dvector_mel"),
                "ssif": read_ssif(config.ssif, r["uid"]) if config.ssif else None,
            }
        )
    return items


def load_foreign(config: DataConfig, task: str) -> list[dict]:
    """The other speakers' items of `data.foreign` (less `data.exclude`); [] when none are asked for."""
    if not config.foreign or config.foreign_batch <= 0:
        return []
    if task != "singlevc":
        raise MediumVCError("data.foreign is for singlevc runs: MediumVC trains on every speaker already")
    items = load_items(replace(config, speakers=config.foreign, ssif=""), need_psdr=False)
    own = {r["speaker"] for r in read_manifest(config.store) if _match(r["speaker"], config.speakers)}
    if own & {it["speaker"] for it in items}:
        raise MediumVCError(
            f"data.foreign {config.foreign} matches the SingleVC voice's own speakers {sorted(own)[:3]}: "
            "foreign speakers must be others"
        )
    return items


def split_items(items: list[dict], val_items: int, seed: int) -> tuple[list[dict], list[dict]]:
    rng = np.random.default_rng(seed + 7919)
    order = rng.permutation(len(items))
    n_val = min(val_items, max(1, len(items) // 5)) if len(items) >= 2 else 0  # at most a fifth, at least one
    val = [items[i] for i in sorted(order[:n_val])]
    train = [items[i] for i in sorted(order[n_val:])]
    return train, val


def _crop(length: int, crop: int | None, rng: np.random.Generator) -> slice:
    if crop is None or length <= crop:
        return slice(0, length)
    start = int(rng.integers(0, length - crop + 1))
    return slice(start, start + crop)


def padded(mels: list[np.ndarray], frames: int) -> torch.Tensor:
    """(T_i, 80) mels -> (B, frames, 80) float32, zero-padded at the end (0 = silence in the normalised domain)."""
    return torch.stack(
        [torch.nn.functional.pad(torch.from_numpy(x.astype(np.float32)), (0, 0, 0, frames - len(x))) for x in mels]
    )


def collate(
    inputs: list[np.ndarray],
    targets: list[np.ndarray],
    dvectors: list[np.ndarray],
    details: list[np.ndarray] | None = None,
) -> dict[str, torch.Tensor]:
    """Zero-pad to the longest (0 = silence in the normalised domain); mask True at padding."""
    lengths = torch.tensor([len(x) for x in inputs])
    t = int(lengths.max())
    pad = lambda xs: padded(xs, t)
    batch = {
        "input": pad(inputs),
        "target": pad(targets),
        "mask": torch.arange(t)[None, :] >= lengths[:, None],
        "lengths": lengths,
        "dvector": torch.from_numpy(np.stack(dvectors).astype(np.float32)),
    }
    if details is not None:
        batch["detail_mel"] = pad(details)
    return batch


class IndexedBatches(IterableDataset):
    """Endless batches where batch i depends only on (seed, i); subclasses define `batch(i)`.

    `start` is the step to resume from. Under data parallelism rank r of W takes batch index
    step * W + r, so every rank sees its own data; DataLoader workers split the steps between them.
    """

    def __init__(self, seed: int, start: int = 0, rank: int = 0, world: int = 1) -> None:
        self.seed, self.start, self.rank, self.world = seed, start, rank, world

    def batch(self, index: int):
        raise NotImplementedError

    def __iter__(self):
        info = get_worker_info()
        step, stride = (self.start, 1) if info is None else (self.start + info.id, info.num_workers)
        while True:
            yield self.batch(step * self.world + self.rank)
            step += stride


class BatchStream(IndexedBatches):
    """SingleVC / MediumVC batches.

    task 'singlevc': input = a PSDR variant (or, with probability 1/(K+1), the mel itself: the
    original's shift 0), target = the original mel, random utterances. With `psdr_online` the
    input is shifted now by a shift drawn from the batch's generator (so resuming repeats it).
    task 'mediumvc': all utterances of one random speaker (the paper's same-speaker batches);
    input = target = the mel, with that utterance's own d-vector; with precomputed SSIF the
    input is one of the utterance's SSIF variants instead (the network then skips SingleVC).
    `input_warp` (SingleVC): each input's frequency axis scaled by a factor drawn from that range.
    `detail_warp` (MediumVC with `source_detail`): batches also hold "detail_mel", the target with its
    frequency axis scaled by a factor drawn from that range.
    `foreign` (SingleVC): (items of other speakers, n): batches also hold n of their crops as "foreign"
    (n, T', 80) with "foreign_lengths" and "foreign_mask", inputs with no target.
    """

    def __init__(
        self,
        items: list[dict],
        task: str,
        batch_size: int,
        crop: int | None,
        seed: int,
        start: int = 0,
        rank: int = 0,
        world: int = 1,
        psdr_online: tuple[str, int, int] | None = None,
        input_warp: tuple[float, float] | None = None,
        detail_warp: tuple[float, float] | None = None,
        foreign: tuple[list[dict], int] | None = None,
    ) -> None:
        super().__init__(seed, start, rank, world)
        self.foreign = foreign if foreign and foreign[1] > 0 and task == "singlevc" else None
        self.items, self.task, self.batch_size, self.crop = items, task, batch_size, crop
        self.input_warp = tuple(input_warp) if input_warp and task == "singlevc" else None
        self.detail_warp = tuple(detail_warp) if detail_warp and task == "mediumvc" else None
        self.psdr_range = psdr_online[1:] if psdr_online else None
        self.shift_online = OnlinePSDR(psdr_online[0]) if psdr_online else None
        self.by_speaker: dict[str, list[int]] = {}
        for i, it in enumerate(items):
            self.by_speaker.setdefault(it["speaker"], []).append(i)
        self.speakers = sorted(self.by_speaker)

    def batch(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, index])
        warp_rng = np.random.default_rng([self.seed, index, 1])  # its own draws: warping leaves the crops as they were
        if self.task == "mediumvc":
            spk = self.speakers[int(rng.integers(len(self.speakers)))]
            pool = self.by_speaker[spk]
            chosen = [pool[int(rng.integers(len(pool)))] for _ in range(self.batch_size)]
        else:
            chosen = [int(rng.integers(len(self.items))) for _ in range(self.batch_size)]
        inputs, targets, dvecs, details = [], [], [], []
        for i in chosen:
            it = self.items[i]
            window = _crop(len(it["mel"]), self.crop, rng)
            source = it["mel"]
            if self.task == "singlevc" and self.shift_online is not None:
                from mediumvc.psdr import draw_shift

                inputs.append(self.shift_online(it, window, draw_shift(rng, *self.psdr_range)))
            else:
                if self.task == "singlevc":
                    k = int(rng.integers(len(it["psdr"]) + 1))
                    source = it["mel"] if k == len(it["psdr"]) else it["psdr"][k]
                elif it.get("ssif") is not None:
                    source = it["ssif"][int(rng.integers(len(it["ssif"])))]
                inputs.append(source[window])
            if self.input_warp:
                inputs[-1] = warp_mel(inputs[-1], float(warp_rng.uniform(*self.input_warp)))
            targets.append(it["mel"][window])
            dvecs.append(it["dvector"])
            if self.detail_warp:
                details.append(warp_mel(targets[-1], float(warp_rng.uniform(*self.detail_warp))))
        batch = collate(inputs, targets, dvecs, details if self.detail_warp else None)
        if self.foreign:
            batch.update(self.foreign_inputs(np.random.default_rng([self.seed, index, 2])))
        return batch

    def foreign_inputs(self, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        items, n = self.foreign
        crops = []
        for _ in range(n):
            mel = items[int(rng.integers(len(items)))]["mel"]
            crops.append(mel[_crop(len(mel), self.crop, rng)])
        lengths = torch.tensor([len(x) for x in crops])
        return {
            "foreign": padded(crops, int(lengths.max())),
            "foreign_lengths": lengths,
            "foreign_mask": torch.arange(int(lengths.max()))[None, :] >= lengths[:, None],
        }


def online_psdr(config: DataConfig, task: str) -> tuple[str, int, int] | None:
    """(backend, low, high) when SingleVC inputs are shifted while training, else None."""
    return (
        (config.psdr_online, config.psdr_low, config.psdr_high) if task == "singlevc" and config.psdr_online else None
    )


def fixed_batches(
    items: list[dict],
    task: str,
    batch_size: int,
    crop: int | None,
    seed: int,
    count: int,
    psdr_online: tuple[str, int, int] | None = None,
    detail_warp: tuple[float, float] | None = None,
    foreign: tuple[list[dict], int] | None = None,
) -> list[dict]:
    """The same validation batches at every validation (shifted once, here, when shifting online)."""
    stream = BatchStream(
        items, task, batch_size, crop, seed + 104729, psdr_online=psdr_online, detail_warp=detail_warp, foreign=foreign
    )
    return [stream.batch(i) for i in range(count)]
