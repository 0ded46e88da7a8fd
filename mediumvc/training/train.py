"""`mediumvc train singlevc|mediumvc|dvector --config FILE [--set key=value ...]`: one YAML describes a run.

    model:    network sizes (a bundled config name such as cpu-small, or the sections themselves)
    data:     feature store, speakers, batch size, crop (DataConfig)
    optim:    optimiser and the decay schedule (OptimConfig)
    loss:     L1 (the paper), optionally plus a mel discriminator's adversarial terms (LossConfig)
    trainer:  steps, precision, checkpoint/validation cadence, devices (TrainerConfig)
    singlevc: (mediumvc only) a trained SingleVC directory (its sizes replace the model config's
              singlevc section), or `untrained` (the paper's MwuS); MwoS is `model.singlevc: null`
    init:     start from these weights (fine-tuning): a training checkpoint or an exported model
              directory of the same sizes; the optimiser starts fresh. Ignored when resuming.
    dvector:  (mediumvc only) our exported d-vector as the speaker encoder, instead of resemblyzer;
              the store must have been embedded with it (`preprocess --encoder dvector`)

Checkpoints are written atomically every `ckpt_every` steps (the last `keep_last` kept, plus the
best by validation loss); `--resume` continues from `last.ckpt` with the same batches it would
have seen. `export` turns a checkpoint into an inference directory.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import lightning as L
import torch
import yaml
from torch.utils.data import DataLoader

from mediumvc.errors import MediumVCError
from mediumvc.speaker import DVectorConfig
from mediumvc.training.callbacks import AtomicCheckpoint
from mediumvc.training.config import TASKS, TrainConfig, TrainerConfig, load_train_config  # noqa: F401  (the entry points)
from mediumvc.training.data import (
    BatchStream,
    DataConfig,
    fixed_batches,
    load_foreign,
    load_items,
    online_psdr,
    split_items,
)
from mediumvc.training.export import _plain
from mediumvc.training.init import init_weights
from mediumvc.training.tasks import MediumVCTask, SingleVCTask


class StoreBatches(L.LightningDataModule):
    """Builds the loaders once the trainer knows this process's rank (DDP shards by rank)."""

    def __init__(
        self,
        train_items: list[dict],
        val_batches: list[dict],
        task: str,
        data: DataConfig,
        trainer: TrainerConfig,
        start: int,
        detail_warp: tuple[float, float] | None = None,
        foreign: list[dict] = (),
    ) -> None:
        super().__init__()
        self.train_items, self.val_batches, self.task, self.data, self.cfg, self.start = (
            train_items,
            val_batches,
            task,
            data,
            trainer,
            start,
        )
        self.detail_warp = detail_warp
        self.foreign = (list(foreign), data.foreign_batch) if foreign else None

    def train_dataloader(self) -> DataLoader:
        stream = BatchStream(
            self.train_items,
            self.task,
            self.data.batch_size,
            self.data.crop_frames,
            self.cfg.seed,
            self.start,
            rank=self.trainer.global_rank,
            world=self.trainer.world_size,
            psdr_online=online_psdr(self.data, self.task),
            input_warp=self.data.input_warp,
            detail_warp=self.detail_warp,
            foreign=self.foreign,
        )
        return DataLoader(stream, batch_size=None, num_workers=self.cfg.num_workers)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_batches, batch_size=None)


def build_run(task: str, config: TrainConfig, start: int) -> tuple[L.LightningModule, L.LightningDataModule, bool]:
    """The module, its data, and whether there is anything to validate on."""
    t, d = config.trainer, config.data
    if task == "dvector":
        if config.init:
            raise MediumVCError("init (fine-tuning) is for singlevc and mediumvc runs, not dvector")
        if config.loss.adversarial_on:
            raise MediumVCError(
                "loss.adversarial / loss.feature_matching are for singlevc and mediumvc runs (mel outputs), not dvector"
            )
        from mediumvc.training.dvector import DVectorTask, GE2EBatches, group_by_speaker, split_speakers

        model_cfg = config.model_config()
        groups = group_by_speaker(
            load_items(d, need_psdr=False), d.seg_len, d.utterances_per_speaker, d.split_utterances
        )
        train_groups, val_groups = split_speakers(groups, d.val_speakers, t.seed)
        module = DVectorTask(model_cfg.dvector or DVectorConfig(), config.optim.lr, config.optim.lr_decay_every, t.seed)
        data = GE2EBatches(
            train_groups,
            val_groups,
            d.speakers_per_batch,
            d.utterances_per_speaker,
            d.seg_len,
            t.seed,
            start,
            t.num_workers,
        )
        return module, data, len(val_groups) >= 2
    check_foreign(config)
    module = build_task(task, config)
    if config.init and start == 0:
        init_weights(module.net, task, config.init)
    items = load_items(d, need_psdr=(task == "singlevc"))
    train_items, val_items = split_items(items, d.val_items, t.seed)
    foreign_train, foreign_val = split_items(load_foreign(d, task), d.val_items, t.seed)
    warp = config.detail_warp(task)
    val = (
        fixed_batches(
            val_items,
            task,
            d.batch_size,
            d.crop_frames,
            t.seed,
            t.val_batches,
            online_psdr(d, task),
            warp,
            (foreign_val, d.foreign_batch) if foreign_val else None,
        )
        if val_items
        else []
    )
    return module, StoreBatches(train_items, val, task, d, t, start, warp, foreign_train), bool(val)


def check_foreign(config: TrainConfig) -> None:
    """Other speakers' inputs train only through the content loss, and the voice discriminator needs them."""
    foreign = bool(config.data.foreign) and config.data.foreign_batch > 0
    if foreign and config.loss.content <= 0:
        raise MediumVCError(
            "data.foreign needs loss.content > 0 with loss.content_model: DIR (nothing else trains on their inputs)"
        )
    if config.loss.voice > 0 and not foreign:
        raise MediumVCError(
            "loss.voice needs a singlevc run with data.foreign (speaker globs) and data.foreign_batch > 0"
        )


def build_task(task: str, config: TrainConfig):
    model_cfg = config.model_config()
    if task == "singlevc":
        if model_cfg.singlevc is None:
            raise MediumVCError("the model config has no singlevc section to train")
        from mediumvc.nets import SingleVC

        return SingleVCTask(SingleVC(model_cfg.singlevc), config.optim, config.trainer.seed, config.loss)
    net = model_cfg.build()
    if model_cfg.singlevc is not None:
        if config.singlevc is None:
            raise MediumVCError(
                "MediumVC training needs `singlevc: DIR` (a trained SingleVC), or `singlevc: untrained` "
                "for the paper's MwuS ablation; for MwoS set `model.singlevc: null`"
            )
        if config.singlevc != "untrained":
            from mediumvc.checkpoint import load_part_dir

            net.singlevc = load_part_dir(config.singlevc, "singlevc").net
    if config.data.ssif:
        from mediumvc.checkpoint import weights_digest
        from mediumvc.training.ssif import read_ssif_info

        made_by = read_ssif_info(config.data.ssif)["singlevc_sha256"]
        if (
            model_cfg.singlevc is None
            or config.singlevc in (None, "untrained")
            or made_by != weights_digest(config.singlevc)
        ):
            raise MediumVCError(
                f"data.ssif {config.data.ssif} was made by another SingleVC than `singlevc: {config.singlevc}`: "
                "precompute it again with that SingleVC, or drop data.ssif"
            )
    return MediumVCTask(
        net,
        config.optim,
        config.trainer.singlevc_dropout,
        config.trainer.seed,
        precomputed_ssif=bool(config.data.ssif),
        speaker_net=_speaker_net(config),
        loss=config.loss,
    )


def _speaker_net(config: TrainConfig):
    """Our d-vector (frozen, carried in the checkpoints for export) when `dvector:` is set, after checking
    that the store's d-vectors were made by it; None for resemblyzer."""
    from mediumvc.data.store import read_store_settings

    made_with = read_store_settings(config.data.store)
    if not config.dvector:
        if made_with.get("encoder", "resemblyzer") != "resemblyzer":
            raise MediumVCError(
                f"{config.data.store} holds d-vectors of our own d-vector: set `dvector: DIR` to the one it was made with"
            )
        return None
    from mediumvc.checkpoint import load_part_dir, weights_digest

    if made_with.get("encoder") != "dvector" or made_with.get("encoder_weights") != weights_digest(config.dvector):
        raise MediumVCError(
            f"{config.data.store} was not embedded with the d-vector {config.dvector}: "
            f"preprocess it with --encoder dvector --dvector {config.dvector}"
        )
    return load_part_dir(config.dvector, "dvector").net.requires_grad_(False)


def train(task: str, config: TrainConfig, out_dir: str | Path, resume: bool = False) -> Path:
    """Train, checkpointing into OUT/checkpoints; logs (CSV, TensorBoard) into OUT/logs."""
    if task not in TASKS:
        raise MediumVCError(f"unknown task {task!r}: choose one of {TASKS}")
    out = Path(out_dir)
    ckpt_dir = out / "checkpoints"
    last = ckpt_dir / "last.ckpt"
    if ckpt_dir.exists() and any(ckpt_dir.glob("*.ckpt")) and not resume:
        raise MediumVCError(
            f"{ckpt_dir} already holds checkpoints: pass --resume to continue, or choose a new output folder"
        )
    t = config.trainer
    if t.threads:
        torch.set_num_threads(t.threads)
    L.seed_everything(t.seed, workers=True, verbose=False)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_config.yaml").write_text(
        yaml.safe_dump({"task": task, **_plain(dataclasses.asdict(config))}, sort_keys=False)
    )

    start = 0
    if resume and last.is_file():
        start = int(torch.load(last, map_location="cpu", weights_only=True)["global_step"])
    module, data, has_val = build_run(task, config, start)
    module.hparams.update(
        {"task": task, "train_config": _plain(dataclasses.asdict(config)), "model": config.model_config().to_dict()}
    )
    module.samples_dir = out / "samples" if t.samples and task != "dvector" else None

    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    every = AtomicCheckpoint(
        dirpath=ckpt_dir,
        filename="step-{step:08d}",
        every_n_train_steps=t.ckpt_every,
        save_top_k=t.keep_last,
        monitor="step",
        mode="max",
        save_last=True,
        auto_insert_metric_name=False,
    )
    callbacks = [every]
    if has_val:
        callbacks.append(
            AtomicCheckpoint(
                dirpath=ckpt_dir,
                filename="best",
                monitor="val/loss",
                mode="min",
                save_top_k=1,
                enable_version_counter=False,
            )
        )
    trainer = L.Trainer(
        max_steps=t.max_steps,
        precision=t.precision,
        val_check_interval=t.val_every if has_val else None,
        check_val_every_n_epoch=None,
        log_every_n_steps=t.log_every,
        callbacks=callbacks,
        logger=[
            CSVLogger(
                out / "logs", name="csv", version=f"from-step-{start:08d}"
            ),  # one file per session: resuming never rewrites history
            TensorBoardLogger(out, name="logs", version=""),
        ],
        accelerator=t.accelerator,
        devices=t.devices,
        num_nodes=t.num_nodes,
        strategy=t.strategy,
        default_root_dir=out,
        enable_model_summary=False,
    )
    trainer.fit(module, datamodule=data, ckpt_path=str(last) if resume and last.is_file() else None, weights_only=True)
    return last
