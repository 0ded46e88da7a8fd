"""Fine-tuning: trained weights copied into a new run's networks (`init:` in a training config)."""

from __future__ import annotations

from pathlib import Path

import torch

from mediumvc.errors import MediumVCError


def init_weights(net: torch.nn.Module, task: str, source: str | Path) -> None:
    """Copy trained weights into `net` (singlevc / mediumvc, weight norm attached or not).

    `source`: a training checkpoint (.ckpt) or an exported directory. For MediumVC the content encoder
    and decoder are copied (its SingleVC comes from `singlevc:`), and the speaker EQ when both have one;
    a speaker EQ the source lacks starts as the identity.
    """
    from mediumvc.checkpoint import fold_weight_norm_state, load_model_dir, load_part_dir
    from mediumvc.nets import add_weight_norm, fold_weight_norm
    from mediumvc.training.export import net_state, read_training_checkpoint

    path = Path(source).expanduser()
    if path.is_file():
        ckpt = read_training_checkpoint(path, "init ")
        if ckpt.get("hyper_parameters", {}).get("task") != task:
            raise MediumVCError(f"init {path} is not a {task} training checkpoint")
        state = fold_weight_norm_state(net_state(ckpt))
    elif path.is_dir():
        state = (load_part_dir(path, "singlevc").net if task == "singlevc" else load_model_dir(path).model).state_dict()
    else:
        raise MediumVCError(f"init {path}: no such checkpoint or model directory")
    keep = ("content_encoder.", "decoder.") if task == "mediumvc" else ("",)
    state_all, state = state, {k: v.float() for k, v in state.items() if k.startswith(keep)}
    plain = type(net)(net.config)  # same sizes, plain weights: load there, then copy across
    own = {k: v for k, v in plain.state_dict().items() if k.startswith(keep)}
    if set(own) != set(state) or any(own[k].shape != state[k].shape for k in own):
        raise MediumVCError(
            f"init {path} holds a {task} of other sizes than the model config asks for: choose the matching `model:`"
        )
    plain.load_state_dict(state, strict=False)
    parts = ("content_encoder", "decoder") if task == "mediumvc" else (None,)
    with torch.no_grad():
        for name in parts:
            src, dst = (plain, net) if name is None else (getattr(plain, name), getattr(net, name))
            fold_weight_norm(dst)  # plain weights in, then weight norm back on (it is on while training)
            dst.load_state_dict(src.state_dict())
            add_weight_norm(dst)
    if task == "mediumvc":
        eq_state = {k[len("speaker_eq.") :]: v.float() for k, v in state_all.items() if k.startswith("speaker_eq.")}
        if eq_state and net.speaker_eq is None:
            raise MediumVCError(f"init {path} has a speaker EQ but the model config has none: set speaker_eq: true")
        if eq_state:
            net.speaker_eq.load_state_dict(eq_state)
