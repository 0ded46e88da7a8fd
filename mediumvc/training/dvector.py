"""Training our own d-vector with GE2E: batches of N speakers x M utterances cropped
to 160 frames, SGD 0.01, gradient norm clipped to 3, the embedding layer's gradients x0.5 and
GE2E's w, b x0.01, learning rate halved every `lr_decay_every` steps. Validation reports the EER
(and its threshold) on held-out speakers."""

from __future__ import annotations

import itertools

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from mediumvc.errors import MediumVCError
from mediumvc.speaker import DVector, DVectorConfig, GE2ELoss
from mediumvc.speaker.eer import equal_error_rate
from mediumvc.training.data import IndexedBatches


def group_by_speaker(
    items: list[dict], seg_len: int, min_utterances: int, split: bool = False
) -> dict[str, list[np.ndarray]]:
    """Speaker -> d-vector mels of at least one segment; speakers with too few are dropped.

    `split`: an utterance of two segments or more counts as that many pieces (each at least one
    segment long), so a speaker with one long recording (LibriSpeech in the dev corpus) qualifies.
    """
    groups: dict[str, list[np.ndarray]] = {}
    for it in items:
        mel = it.get("dvector_mel")
        if mel is None:
            raise MediumVCError(f"{it['uid']} has no d-vector features: preprocess with --dvector-mels")
        pieces = len(mel) // seg_len if split else 1
        if len(mel) >= seg_len:
            groups.setdefault(it["speaker"], []).extend(np.array_split(mel, pieces) if pieces > 1 else [mel])
    return {s: mels for s, mels in sorted(groups.items()) if len(mels) >= min_utterances}


class GE2EStream(IndexedBatches):
    """Endless (N, M, seg_len, 40) batches of N speakers x M random crops."""

    def __init__(
        self,
        groups: dict[str, list[np.ndarray]],
        n_speakers: int,
        n_utterances: int,
        seg_len: int,
        seed: int,
        start: int = 0,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        if len(groups) < n_speakers:
            raise MediumVCError(
                f"GE2E needs {n_speakers} speakers with >= {n_utterances} long-enough utterances; the store has {len(groups)}"
            )
        super().__init__(seed, start, rank, world)
        self.speakers = sorted(groups)
        self.groups, self.n, self.m, self.seg = groups, n_speakers, n_utterances, seg_len

    def batch(self, index: int) -> torch.Tensor:
        rng = np.random.default_rng([self.seed, index])
        out = []
        for s in rng.choice(len(self.speakers), self.n, replace=False):
            mels = self.groups[self.speakers[s]]
            for u in rng.choice(len(mels), self.m, replace=False):
                start = int(rng.integers(0, len(mels[u]) - self.seg + 1))
                out.append(mels[u][start : start + self.seg].astype(np.float32))
        return torch.from_numpy(np.stack(out)).view(self.n, self.m, self.seg, -1)


class DVectorTask(L.LightningModule):
    def __init__(self, config: DVectorConfig, lr: float = 0.01, lr_decay_every: int = 100_000, seed: int = 0) -> None:
        super().__init__()
        self.net = DVector(config)
        self.loss = GE2ELoss()
        self.lr, self.lr_decay_every, self.seed = lr, lr_decay_every, seed
        self.val_embeddings: list[tuple[str, torch.Tensor]] = []

    def on_train_batch_start(self, batch, batch_idx):
        torch.manual_seed((self.seed * 1_000_003 + self.global_step * 9_176 + self.global_rank) % 2**63)

    def training_step(self, batch: torch.Tensor, _):
        n, m, t, f = batch.shape
        loss = self.loss(self.net(batch.reshape(n * m, t, f)).view(n, m, -1))
        self.log("train/loss", loss, prog_bar=True, batch_size=n * m)
        self.log("train/w", self.loss.w, batch_size=1)
        return loss

    def on_before_optimizer_step(self, optimizer):
        torch.nn.utils.clip_grad_norm_(self.parameters(), 3.0)
        for p in self.net.embedding.parameters():
            if p.grad is not None:
                p.grad.mul_(0.5)
        for p in self.loss.parameters():
            if p.grad is not None:
                p.grad.mul_(0.01)

    def validation_step(self, batch: tuple[str, torch.Tensor], _):
        speaker, mel = batch
        self.val_embeddings.append((speaker, self.net.embed_utterance(mel)))

    def on_validation_epoch_end(self):
        if len({s for s, _ in self.val_embeddings}) >= 2:
            scores, labels = [], []
            for (sa, ea), (sb, eb) in itertools.combinations(self.val_embeddings, 2):
                scores.append(float(ea @ eb))
                labels.append(sa == sb)
            if any(labels) and not all(labels):
                eer, threshold = equal_error_rate(np.array(scores), np.array(labels))
                self.log("val/eer", eer, prog_bar=True)
                self.log("val/threshold", threshold)
                self.log("val/loss", eer)  # "best" checkpoint = lowest EER
        self.val_embeddings.clear()

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=self.lr)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=self.lr_decay_every, gamma=0.5)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


class GE2EBatches(L.LightningDataModule):
    def __init__(
        self,
        train_groups,
        val_groups,
        n_speakers: int,
        n_utterances: int,
        seg_len: int,
        seed: int,
        start: int,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        self.train_groups, self.val_groups = train_groups, val_groups
        self.n, self.m, self.seg, self.seed, self.start, self.num_workers = (
            n_speakers,
            n_utterances,
            seg_len,
            seed,
            start,
            num_workers,
        )

    def train_dataloader(self) -> DataLoader:
        stream = GE2EStream(
            self.train_groups,
            self.n,
            self.m,
            self.seg,
            self.seed,
            self.start,
            self.trainer.global_rank,
            self.trainer.world_size,
        )
        return DataLoader(stream, batch_size=None, num_workers=self.num_workers)

    def val_dataloader(self) -> DataLoader:
        pairs = [(s, torch.from_numpy(m.astype(np.float32))) for s, mels in self.val_groups.items() for m in mels[:10]]
        return DataLoader(pairs, batch_size=None)


def split_speakers(groups: dict, val_speakers: int, seed: int) -> tuple[dict, dict]:
    """Hold out whole speakers for validation (EER on voices never trained on)."""
    names = sorted(groups)
    held = set(
        np.random.default_rng(seed + 31).permutation(names)[: min(val_speakers, max(0, len(names) - 2))].tolist()
    )
    return {s: v for s, v in groups.items() if s not in held}, {s: v for s, v in groups.items() if s in held}
