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
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch
import yaml
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader

from mediumvc.config import ModelConfig, load_config
from mediumvc.detail import DetailSettings
from mediumvc.matching import MatchSettings
from mediumvc.pitch import PitchSettings
from mediumvc.errors import CheckpointError, MediumVCError
from mediumvc.speaker import DVectorConfig
from mediumvc.training.data import BatchStream, DataConfig, fixed_batches, load_items, online_psdr, split_items
from mediumvc.training.tasks import LossConfig, MediumVCTask, OptimConfig, SingleVCTask

TASKS = ("singlevc", "mediumvc", "dvector")


@dataclass
class TrainerConfig:
    max_steps: int = 10000
    precision: str = "32-true"  # or "bf16-mixed" (fast only on GPUs / CPUs with AVX-512 BF16 or AMX)
    val_every: int = 500
    val_batches: int = 4
    ckpt_every: int = 500
    keep_last: int = 3
    log_every: int = 20
    seed: int = 0
    num_workers: int = 0
    threads: int | None = None
    accelerator: str = "auto"
    devices: Any = 1
    num_nodes: int = 1
    strategy: str = "auto"
    singlevc_dropout: bool = True  # the original's behaviour (see MediumVCTask)
    samples: bool = True  # vocode one validation item per validation into OUT/samples and TensorBoard


@dataclass
class TrainConfig:
    model: Any = "cpu-small"
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    singlevc: str | None = None
    init: str | None = None
    dvector: str | None = None  # MediumVC with our own d-vector: its exported directory (the store embedded with it)

    def model_config(self) -> ModelConfig:
        config = load_config(self.model) if isinstance(self.model, str) else ModelConfig.from_dict(self.model)
        from mediumvc.checkpoint import read_part_config  # sizes only: this runs several times per run

        if config.singlevc is not None and self.singlevc not in (None, "untrained"):  # a trained SingleVC brings its own sizes
            config = dataclasses.replace(config, singlevc=read_part_config(self.singlevc, "singlevc"))
        if self.dvector:
            config = dataclasses.replace(config, speaker_encoder="dvector", dvector=read_part_config(self.dvector, "dvector"))
        return config

    def detail_warp(self, task: str) -> tuple[float, float] | None:
        """data.detail_warp when a MediumVC with `source_detail` trains (its batches then carry detail mels)."""
        model = self.model_config().mediumvc if task == "mediumvc" else None
        if model is None or not model.source_detail:
            return None
        warp = self.data.detail_warp
        if not (isinstance(warp, (list, tuple)) and len(warp) == 2 and 0 < warp[0] <= warp[1]):
            raise MediumVCError(f"data.detail_warp must be [low, high] with 0 < low <= high (e.g. [0.85, 1.2]), not {warp}")
        return float(warp[0]), float(warp[1])


def _set(obj: dict, dotted: str, value: str) -> None:
    *parents, leaf = dotted.split(".")
    for p in parents:
        obj = obj.setdefault(p, {})
    obj[leaf] = yaml.safe_load(value)


def _numbers(obj):
    """YAML 1.1 reads 1e-3 (no dot) as a string: make such strings floats, in files and --set alike."""
    if isinstance(obj, dict):
        return {k: _numbers(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_numbers(v) for v in obj]
    if isinstance(obj, str) and re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+", obj):
        return float(obj)
    return obj


def load_train_config(path: str | Path | None, overrides: list[str] = ()) -> TrainConfig:
    raw: dict = {}
    if path:
        try:
            raw = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as e:
            raise MediumVCError(f"training config {path}: {str(e).splitlines()[0]}") from None
    for item in overrides:
        if "=" not in item:
            raise MediumVCError(f"--set expects key=value (e.g. optim.lr=3e-4), got {item!r}")
        _set(raw, *item.split("=", 1))
    raw = _numbers(raw)
    sections = {"data": DataConfig, "optim": OptimConfig, "loss": LossConfig, "trainer": TrainerConfig}
    kw: dict[str, Any] = {}
    for key, value in raw.items():
        if key in sections:
            known = {f.name for f in dataclasses.fields(sections[key])}
            unknown = set(value) - known
            if unknown:
                raise MediumVCError(f"unknown key(s) {sorted(unknown)} in training config section '{key}'")
            kw[key] = sections[key](**value)
        elif key in ("model", "singlevc", "init", "dvector"):
            kw[key] = value
        else:
            raise MediumVCError(f"unknown training config section {key!r} (model, data, optim, loss, trainer, singlevc, init, dvector)")
    config = TrainConfig(**kw)
    config.data.store = os.path.expanduser(config.data.store)
    config.data.ssif = os.path.expanduser(config.data.ssif)
    if config.singlevc not in (None, "untrained"):
        config.singlevc = os.path.expanduser(config.singlevc)
    if config.init:
        config.init = os.path.expanduser(config.init)
    if config.dvector:
        config.dvector = os.path.expanduser(config.dvector)
    return config


class AtomicCheckpoint(ModelCheckpoint):
    """ModelCheckpoint whose files appear only complete: written to a temp name, then renamed."""

    def _save_checkpoint(self, trainer: L.Trainer, filepath: str) -> None:
        tmp = f"{filepath}.tmp"
        trainer.save_checkpoint(tmp, self.save_weights_only)
        if trainer.is_global_zero:
            os.replace(tmp, filepath)
        trainer.strategy.barrier()
        self._last_global_step_saved = trainer.global_step
        self._last_checkpoint_saved = filepath

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # A run that ends between two periodic checkpoints (max_steps not a multiple of ckpt_every)
        # still leaves its final state in last.ckpt: nothing it trained is lost.
        if self.save_last and self._every_n_train_steps and trainer.global_step > self._last_global_step_saved:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        super().on_train_end(trainer, pl_module)


class StoreBatches(L.LightningDataModule):
    """Builds the loaders once the trainer knows this process's rank (DDP shards by rank)."""

    def __init__(self, train_items: list[dict], val_batches: list[dict], task: str, data: DataConfig, trainer: TrainerConfig, start: int,
                 detail_warp: tuple[float, float] | None = None) -> None:
        super().__init__()
        self.train_items, self.val_batches, self.task, self.data, self.cfg, self.start = train_items, val_batches, task, data, trainer, start
        self.detail_warp = detail_warp

    def train_dataloader(self) -> DataLoader:
        stream = BatchStream(self.train_items, self.task, self.data.batch_size, self.data.crop_frames, self.cfg.seed, self.start,
                             rank=self.trainer.global_rank, world=self.trainer.world_size, psdr_online=online_psdr(self.data, self.task),
                             input_warp=self.data.input_warp, detail_warp=self.detail_warp)
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
            raise MediumVCError("loss.adversarial / loss.feature_matching are for singlevc and mediumvc runs (mel outputs), not dvector")
        from mediumvc.training.dvector import DVectorTask, GE2EBatches, group_by_speaker, split_speakers

        model_cfg = config.model_config()
        groups = group_by_speaker(load_items(d, need_psdr=False), d.seg_len, d.utterances_per_speaker, d.split_utterances)
        train_groups, val_groups = split_speakers(groups, d.val_speakers, t.seed)
        module = DVectorTask(model_cfg.dvector or DVectorConfig(), config.optim.lr, config.optim.lr_decay_every, t.seed)
        data = GE2EBatches(train_groups, val_groups, d.speakers_per_batch, d.utterances_per_speaker, d.seg_len, t.seed, start, t.num_workers)
        return module, data, len(val_groups) >= 2
    module = build_task(task, config)
    if config.init and start == 0:
        init_weights(module.net, task, config.init)
    items = load_items(d, need_psdr=(task == "singlevc"))
    train_items, val_items = split_items(items, d.val_items, t.seed)
    warp = config.detail_warp(task)
    val = fixed_batches(val_items, task, d.batch_size, d.crop_frames, t.seed, t.val_batches, online_psdr(d, task), warp) if val_items else []
    return module, StoreBatches(train_items, val, task, d, t, start, warp), bool(val)


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
            raise MediumVCError("MediumVC training needs `singlevc: DIR` (a trained SingleVC), or `singlevc: untrained` "
                                "for the paper's MwuS ablation; for MwoS set `model.singlevc: null`")
        if config.singlevc != "untrained":
            from mediumvc.checkpoint import load_part_dir

            net.singlevc = load_part_dir(config.singlevc, "singlevc").net
    if config.data.ssif:
        from mediumvc.checkpoint import weights_digest
        from mediumvc.training.ssif import read_ssif_info

        made_by = read_ssif_info(config.data.ssif)["singlevc_sha256"]
        if model_cfg.singlevc is None or config.singlevc in (None, "untrained") or made_by != weights_digest(config.singlevc):
            raise MediumVCError(f"data.ssif {config.data.ssif} was made by another SingleVC than `singlevc: {config.singlevc}`: "
                                "precompute it again with that SingleVC, or drop data.ssif")
    return MediumVCTask(net, config.optim, config.trainer.singlevc_dropout, config.trainer.seed, precomputed_ssif=bool(config.data.ssif),
                        speaker_net=_speaker_net(config), loss=config.loss)


def _speaker_net(config: TrainConfig):
    """Our d-vector (frozen, carried in the checkpoints for export) when `dvector:` is set, after checking
    that the store's d-vectors were made by it; None for resemblyzer."""
    from mediumvc.data.store import read_store_settings

    made_with = read_store_settings(config.data.store)
    if not config.dvector:
        if made_with.get("encoder", "resemblyzer") != "resemblyzer":
            raise MediumVCError(f"{config.data.store} holds d-vectors of our own d-vector: set `dvector: DIR` to the one it was made with")
        return None
    from mediumvc.checkpoint import load_part_dir, weights_digest

    if made_with.get("encoder") != "dvector" or made_with.get("encoder_weights") != weights_digest(config.dvector):
        raise MediumVCError(f"{config.data.store} was not embedded with the d-vector {config.dvector}: "
                            f"preprocess it with --encoder dvector --dvector {config.dvector}")
    return load_part_dir(config.dvector, "dvector").net.requires_grad_(False)


def init_weights(net: torch.nn.Module, task: str, source: str | Path) -> None:
    """Copy trained weights into `net` (singlevc / mediumvc, weight norm attached or not).

    `source`: a training checkpoint (.ckpt) or an exported directory. For MediumVC the content encoder
    and decoder are copied (its SingleVC comes from `singlevc:`), and the speaker EQ when both have one;
    a speaker EQ the source lacks starts as the identity.
    """
    from mediumvc.checkpoint import fold_weight_norm_state, load_model_dir, load_part_dir
    from mediumvc.nets import add_weight_norm, fold_weight_norm

    path = Path(source).expanduser()
    if path.is_file():
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:
            raise CheckpointError(f"init {path} cannot be read as a training checkpoint ({str(e).splitlines()[0][:150]})") from None
        if ckpt.get("hyper_parameters", {}).get("task") != task:
            raise MediumVCError(f"init {path} is not a {task} training checkpoint")
        state = fold_weight_norm_state({k[len("net."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("net.")})
    elif path.is_dir():
        state = (load_part_dir(path, "singlevc").net if task == "singlevc" else load_model_dir(path).model).state_dict()
    else:
        raise MediumVCError(f"init {path}: no such checkpoint or model directory")
    keep = ("content_encoder.", "decoder.") if task == "mediumvc" else ("",)
    state_all, state = state, {k: v.float() for k, v in state.items() if k.startswith(keep)}
    plain = type(net)(net.config)  # same sizes, plain weights: load there, then copy across
    own = {k: v for k, v in plain.state_dict().items() if k.startswith(keep)}
    if set(own) != set(state) or any(own[k].shape != state[k].shape for k in own):
        raise MediumVCError(f"init {path} holds a {task} of other sizes than the model config asks for: choose the matching `model:`")
    plain.load_state_dict(state, strict=False)
    parts = ("content_encoder", "decoder") if task == "mediumvc" else (None,)
    with torch.no_grad():
        for name in parts:
            src, dst = (plain, net) if name is None else (getattr(plain, name), getattr(net, name))
            fold_weight_norm(dst)  # plain weights in, then weight norm back on (it is on while training)
            dst.load_state_dict(src.state_dict())
            add_weight_norm(dst)
    if task == "mediumvc":
        eq_state = {k[len("speaker_eq."):]: v.float() for k, v in state_all.items() if k.startswith("speaker_eq.")}
        if eq_state and net.speaker_eq is None:
            raise MediumVCError(f"init {path} has a speaker EQ but the model config has none: set speaker_eq: true")
        if eq_state:
            net.speaker_eq.load_state_dict(eq_state)


def train(task: str, config: TrainConfig, out_dir: str | Path, resume: bool = False) -> Path:
    """Train, checkpointing into OUT/checkpoints; logs (CSV, TensorBoard) into OUT/logs."""
    if task not in TASKS:
        raise MediumVCError(f"unknown task {task!r}: choose one of {TASKS}")
    out = Path(out_dir)
    ckpt_dir = out / "checkpoints"
    last = ckpt_dir / "last.ckpt"
    if ckpt_dir.exists() and any(ckpt_dir.glob("*.ckpt")) and not resume:
        raise MediumVCError(f"{ckpt_dir} already holds checkpoints: pass --resume to continue, or choose a new output folder")
    t = config.trainer
    if t.threads:
        torch.set_num_threads(t.threads)
    L.seed_everything(t.seed, workers=True, verbose=False)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_config.yaml").write_text(yaml.safe_dump({"task": task, **_plain(dataclasses.asdict(config))}, sort_keys=False))

    start = 0
    if resume and last.is_file():
        start = int(torch.load(last, map_location="cpu", weights_only=True)["global_step"])
    module, data, has_val = build_run(task, config, start)
    module.hparams.update({"task": task, "train_config": _plain(dataclasses.asdict(config)), "model": config.model_config().to_dict()})
    module.samples_dir = out / "samples" if t.samples and task != "dvector" else None

    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    every = AtomicCheckpoint(dirpath=ckpt_dir, filename="step-{step:08d}", every_n_train_steps=t.ckpt_every,
                             save_top_k=t.keep_last, monitor="step", mode="max", save_last=True, auto_insert_metric_name=False)
    callbacks = [every]
    if has_val:
        callbacks.append(AtomicCheckpoint(dirpath=ckpt_dir, filename="best", monitor="val/loss", mode="min", save_top_k=1, enable_version_counter=False))
    trainer = L.Trainer(
        max_steps=t.max_steps, precision=t.precision, val_check_interval=t.val_every if has_val else None,
        check_val_every_n_epoch=None, log_every_n_steps=t.log_every,
        callbacks=callbacks, logger=[CSVLogger(out / "logs", name="csv", version=f"from-step-{start:08d}"),  # one file per session: resuming never rewrites history
                TensorBoardLogger(out, name="logs", version="")],
        accelerator=t.accelerator, devices=t.devices, num_nodes=t.num_nodes, strategy=t.strategy,
        default_root_dir=out, enable_model_summary=False,
    )
    trainer.fit(module, datamodule=data, ckpt_path=str(last) if resume and last.is_file() else None, weights_only=True)
    return last


def _plain(obj):
    """Tuples -> lists, so configs survive YAML and weights_only checkpoint loading."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def export(checkpoint: str | Path, out_dir: str | Path, dtype: torch.dtype = torch.float32, card: str | None = None,
           pitch: PitchSettings | None = None, detail: DetailSettings | None = None,
           match: MatchSettings | None = None) -> Path:
    """A training checkpoint -> an inference directory (weights only, weight norm folded).
    `dtype` float16 halves the files (MediumVC models only; weights load back as float32).
    `pitch` / `detail` / `match` add the converter's pitch / source-detail / target-matching stage to a
    MediumVC model's config (no retraining needed)."""
    from mediumvc.checkpoint import save_model_dir, save_part_dir

    path = Path(checkpoint)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path}: no such file")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(f"{path} cannot be read as a training checkpoint ({str(e).splitlines()[0][:150]})") from None
    hp = ckpt.get("hyper_parameters", {})
    if hp.get("task") not in TASKS:
        raise CheckpointError(f"{path} is not a mediumvc training checkpoint (no task in its hyper-parameters)")
    model_cfg = ModelConfig.from_dict(hp["model"])
    if pitch is not None:
        model_cfg = dataclasses.replace(model_cfg, pitch=pitch)
    if detail is not None:
        model_cfg = dataclasses.replace(model_cfg, detail=detail)
    if match is not None:
        model_cfg = dataclasses.replace(model_cfg, match=match)
    state = {k[len("net."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("net.")}
    info = {"task": hp["task"], "steps": int(ckpt.get("global_step", 0)), "train_config": hp.get("train_config")}
    if hp["task"] == "singlevc":
        return save_part_dir(out_dir, "singlevc", model_cfg.singlevc, state, info=info)
    if hp["task"] == "dvector":
        return save_part_dir(out_dir, "dvector", model_cfg.dvector or DVectorConfig(), state, info=info)
    net = model_cfg.build()
    from mediumvc.nets import add_weight_norm

    add_weight_norm(net.content_encoder)
    add_weight_norm(net.decoder)
    net.load_state_dict(state)
    speaker = None
    if model_cfg.speaker_encoder == "dvector":  # the frozen d-vector the run trained with travels along
        from mediumvc.speaker import DVector

        speaker = DVector(model_cfg.dvector)
        speaker.load_state_dict({k[len("speaker_net."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("speaker_net.")})
    return save_model_dir(out_dir, model_cfg, net, speaker, info=info, dtype=dtype, card=card)
