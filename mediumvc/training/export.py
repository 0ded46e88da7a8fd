"""Training checkpoint -> inference directory."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import torch

from mediumvc.config import ModelConfig
from mediumvc.errors import CheckpointError
from mediumvc.speaker import DVectorConfig
from mediumvc.stages import Stage
from mediumvc.training.config import TASKS


def _plain(obj):
    """Tuples -> lists, so configs survive YAML and weights_only checkpoint loading."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def read_training_checkpoint(path: Path, label: str = "") -> dict:
    """A Lightning checkpoint, loaded without unpickling code (weights_only); one-line error otherwise."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        reason = str(e).splitlines()[0][:150]
        raise CheckpointError(f"{label}{path} cannot be read as a training checkpoint ({reason})") from None


def net_state(ckpt: dict, prefix: str = "net.") -> dict:
    """The weights of one network of a training checkpoint, its prefix removed."""
    return {k[len(prefix) :]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}


def export(
    checkpoint: str | Path,
    out_dir: str | Path,
    dtype: torch.dtype = torch.float32,
    card: str | None = None,
    stages: Sequence[Stage] | None = None,
    content: str | Path | None = None,
    fast_vocoder: str | Path | None = None,
) -> Path:
    """A training checkpoint, or a model directory, -> an inference directory (weights only, weight norm folded).
    `dtype` float16 halves the files (MediumVC models only; weights load back as float32).
    `stages`: the post-network stages to list in a MediumVC model's config, in order (no retraining needed).
    `content`: a content-model directory (recipes/content-model) to ship, for stages that match by content.
    `fast_vocoder`: a fast-vocoder directory (recipes/fast-vocoder) to offer beside the default vocoder."""
    from mediumvc.checkpoint import load_part_dir, save_model_dir, save_part_dir

    path = Path(checkpoint)
    parts = {
        "content": load_part_dir(content, "content").net if content else None,
        "fast_vocoder": load_part_dir(fast_vocoder, "vocoder").net if fast_vocoder else None,
    }
    if path.is_dir():
        return _reexport(path, out_dir, dtype, card, stages, parts)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path}: no such file or model directory")
    ckpt = read_training_checkpoint(path)
    hp = ckpt.get("hyper_parameters", {})
    if hp.get("task") not in TASKS:
        raise CheckpointError(f"{path} is not a mediumvc training checkpoint (no task in its hyper-parameters)")
    model_cfg = ModelConfig.from_dict(hp["model"])
    if stages is not None:
        model_cfg = dataclasses.replace(model_cfg, stages=tuple(stages))
    state = net_state(ckpt)
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
        speaker.load_state_dict(net_state(ckpt, "speaker_net."))
    return save_model_dir(out_dir, model_cfg, net, speaker, **parts, info=info, dtype=dtype, card=card)


def _reexport(model_dir: Path, out_dir, dtype, card, stages, parts: dict) -> Path:
    """A model directory written again with other stages, another content model or fast vocoder, or another
    storage precision; what is not replaced stays, the card too unless another is given."""
    from mediumvc.checkpoint import CARD_FILE, load_model_dir, save_model_dir

    loaded = load_model_dir(model_dir)
    config = loaded.config if stages is None else dataclasses.replace(loaded.config, stages=tuple(stages))
    parts = {name: part or getattr(loaded, name) for name, part in parts.items()}
    if card is None and (model_dir / CARD_FILE).is_file():
        card = (model_dir / CARD_FILE).read_text()
    return save_model_dir(
        out_dir, config, loaded.model, loaded.dvector, **parts, info=loaded.info, dtype=dtype, card=card
    )
