"""Model directories: `config.json` + `model.safetensors` (+ `README.md`, the model card).

Saved atomically (a killed save never leaves a half-written directory) and loaded without
unpickling anything. Every way a directory can be wrong is one `CheckpointError` line.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from mediumvc.config import ModelConfig
from mediumvc.content.model import ContentModel, ContentModelConfig
from mediumvc.errors import CheckpointError
from mediumvc.files import file_sha256, open_up
from mediumvc.nets.blocks import fold_weight_norm, fold_weight_norm_state
from mediumvc.nets.mediumvc import MediumVC
from mediumvc.nets.singlevc import SingleVC, SingleVCConfig
from mediumvc.speaker.dvector import DVector, DVectorConfig
from mediumvc.vocoder.istft import ISTFTVocoder, ISTFTVocoderConfig

FORMAT = "mediumvc-model"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "README.md"
_PICKLE_SUFFIXES = {".pt", ".pth", ".ckpt", ".bin", ".pkl", ".tar"}


@dataclass
class LoadedModel:
    config: ModelConfig
    model: MediumVC  # eval mode, plain (folded) weights
    dvector: DVector | None = None
    info: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    content: ContentModel | None = None  # eval mode
    fast_vocoder: ISTFTVocoder | None = None  # eval mode


def _plain_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """State dict with weight norm folded, without touching the live module."""
    return fold_weight_norm_state({k: v.detach() for k, v in module.state_dict().items()})


def save_model_dir(
    path: str | os.PathLike,
    config: ModelConfig,
    model: MediumVC,
    dvector: DVector | None = None,
    *,
    content: ContentModel | None = None,
    fast_vocoder: ISTFTVocoder | None = None,
    info: dict[str, Any] | None = None,
    card: str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Path:
    """Write a model directory. An existing one at `path` is replaced only once the new one is complete.

    content / fast_vocoder: the content model and the fast vocoder to ship (the config's `content` and
        `fast_vocoder` are set to their sizes).
    dtype: storage precision (float16/bfloat16 halve the size; weights load back as float32).
    """
    path = Path(path)
    state = {k: v.to(dtype).contiguous() for k, v in _plain_state(model).items()}
    if config.speaker_encoder == "dvector":
        if dvector is None:
            raise ValueError("config.speaker_encoder is 'dvector' but no DVector was given to save")
        state.update({f"dvector.{k}": v.to(dtype).contiguous() for k, v in dvector.state_dict().items()})
    for name, part in (("content", content), ("fast_vocoder", fast_vocoder)):
        if part is not None:
            config = dataclasses.replace(config, **{name: part.config})
            state.update({f"{name}.{k}": v.to(dtype).contiguous() for k, v in part.state_dict().items()})
        elif getattr(config, name) is not None:
            raise ValueError(f"config.{name} is set but no {name} network was given to save")
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "model": config.to_dict(), "info": info or {}}
    return _write_dir(path, state, meta, card)


def _write_dir(path: Path, state: dict[str, torch.Tensor], meta: dict, card: str | None) -> Path:
    """Stage the files in a sibling temp folder, then swap it in: readers never see a partial directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        save_file(state, str(staging / WEIGHTS_FILE), metadata={"format": meta["format"]})
        (staging / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        if card:
            (staging / CARD_FILE).write_text(card)
        open_up(staging)
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
        os.replace(staging, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def _read_meta(path: Path, fmt: str = FORMAT) -> dict[str, Any]:
    """config.json of a model (or single-network) directory, checked for its format and version."""
    cfg = path / CONFIG_FILE
    if not cfg.is_file():
        raise CheckpointError(
            f"{path} is not a model directory: {CONFIG_FILE} is missing (a model directory holds {CONFIG_FILE} + {WEIGHTS_FILE})"
        )
    try:
        meta = json.loads(cfg.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{cfg} is not valid JSON ({e}); restore it from the model's source") from None
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise CheckpointError(
            f'{cfg} is not a {fmt} config (expected "format": "{fmt}"; export one with `mediumvc export`)'
        )
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(
            f"{cfg} has format version {meta['format_version']}, newer than this mediumvc understands ({FORMAT_VERSION}): upgrade mediumvc"
        )
    return meta


def _load_into(module: nn.Module, state: dict[str, torch.Tensor], where: str) -> None:
    """load_state_dict(strict) with a one-line summary instead of PyTorch's wall of keys."""
    expected = module.state_dict()
    missing = sorted(expected.keys() - state.keys())
    unexpected = sorted(state.keys() - expected.keys())
    wrong = sorted(k for k in expected.keys() & state.keys() if expected[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        if wrong:
            k = wrong[0]
            parts.append(
                f"{len(wrong)} of the wrong shape (e.g. {k}: {tuple(state[k].shape)} vs {tuple(expected[k].shape)})"
            )
        raise CheckpointError(
            f"{where} does not match {CONFIG_FILE}: weights "
            + "; ".join(parts)
            + " — the two files come from different models"
        )
    module.load_state_dict({k: v.float() for k, v in state.items()})


def load_model_dir(path: str | os.PathLike, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a model directory for inference (eval mode, weight norm folded) on `device`."""
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() in _PICKLE_SUFFIXES:
            raise CheckpointError(
                f"{path} is a pickled PyTorch file; mediumvc loads model directories ({CONFIG_FILE} + {WEIGHTS_FILE}) "
                "and never unpickles files: export training checkpoints with `mediumvc export`"
            )
        raise CheckpointError(f"{path} is a file; pass the model directory that holds {CONFIG_FILE} and {WEIGHTS_FILE}")
    if not path.is_dir():
        raise CheckpointError(f"model directory {path}: no such directory")
    meta = _read_meta(path)
    try:
        config = ModelConfig.from_dict(meta.get("model", {}))
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{path / CONFIG_FILE}: invalid model config: {str(e).splitlines()[0]}") from None
    weights = path / WEIGHTS_FILE
    if not weights.is_file():
        raise CheckpointError(
            f"{path} has no {WEIGHTS_FILE}: the weights are missing (re-export or re-download the model)"
        )
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(
            f"{weights} is truncated or corrupt ({str(e).splitlines()[0][:120]}): re-export or re-download it"
        ) from None
    dvector_state = {k[len("dvector.") :]: v for k, v in state.items() if k.startswith("dvector.")}
    net_state = {k: v for k, v in state.items() if not k.startswith(("dvector.", "content.", "fast_vocoder."))}
    model = config.build()
    _load_into(model, fold_weight_norm_state(net_state), str(weights))
    dvector = None
    if config.speaker_encoder == "dvector":
        dvector = DVector(config.dvector)
        _load_into(dvector, dvector_state, f"{weights} (dvector.*)")
    elif dvector_state:
        raise CheckpointError(
            f"{weights} holds d-vector weights but {CONFIG_FILE} says speaker_encoder is {config.speaker_encoder!r}"
        )
    content = _optional_part(state, "content", config.content, ContentModel, weights, device)
    fast_vocoder = _optional_part(state, "fast_vocoder", config.fast_vocoder, ISTFTVocoder, weights, device)
    fold_weight_norm(model)
    model.eval().to(device)
    if dvector is not None:
        dvector.eval().to(device)
    return LoadedModel(config, model, dvector, meta.get("info", {}), path, content, fast_vocoder)


def _optional_part(state: dict, name: str, sizes, net_cls, weights: Path, device) -> nn.Module | None:
    """The network stored under `name.` in a model directory's weights, built from the config's `name`
    section; None when the config has none (then the weights must hold none either)."""
    part_state = {k[len(name) + 1 :]: v for k, v in state.items() if k.startswith(f"{name}.")}
    if sizes is None:
        if part_state:
            raise CheckpointError(f"{weights} holds {name} weights but {CONFIG_FILE} has no '{name}' section")
        return None
    net = net_cls(sizes)
    _load_into(net, part_state, f"{weights} ({name}.*)")
    return net.eval().to(device)


# -- one network on its own: a trained SingleVC (MediumVC training loads it), d-vector, content model or vocoder --

_PARTS = {  # kind -> (format name, config class, network class)
    "singlevc": ("mediumvc-singlevc", SingleVCConfig, SingleVC),
    "dvector": ("mediumvc-dvector", DVectorConfig, DVector),
    "content": ("mediumvc-content", ContentModelConfig, ContentModel),
    "vocoder": ("mediumvc-vocoder", ISTFTVocoderConfig, ISTFTVocoder),
}


@dataclass
class LoadedPart:
    config: Any
    net: nn.Module  # eval mode, plain weights
    info: dict[str, Any] = field(default_factory=dict)


def save_part_dir(
    path: str | os.PathLike, kind: str, config, state: dict[str, torch.Tensor], *, info: dict | None = None
) -> Path:
    """Write one network (`kind`: singlevc, dvector, content or vocoder) as config.json + model.safetensors."""
    fmt, _, net_cls = _PARTS[kind]
    net = net_cls(config)
    _load_into(net, fold_weight_norm_state(state), f"{kind} weights")
    meta = {"format": fmt, "format_version": FORMAT_VERSION, kind: dataclasses.asdict(config), "info": info or {}}
    return _write_dir(Path(path), {k: v.contiguous() for k, v in net.state_dict().items()}, meta, None)


def weights_digest(model_dir: str | os.PathLike) -> str:
    """SHA-256 of a model directory's weights: what derived data (SSIF folders, stores embedded with
    our d-vector) is tied to."""
    return file_sha256(Path(model_dir) / WEIGHTS_FILE)


def _part_config(path: Path, kind: str, meta: dict[str, Any]):
    try:
        return _PARTS[kind][1](**{k: tuple(v) if isinstance(v, list) else v for k, v in meta[kind].items()})
    except (TypeError, ValueError, KeyError) as e:
        raise CheckpointError(f"{path / CONFIG_FILE}: invalid {kind} config ({e})") from None


def read_part_config(path: str | os.PathLike, kind: str):
    """Only the sizes of a part directory (its config.json), without reading the weights."""
    return _part_config(Path(path), kind, _read_meta(Path(path), _PARTS[kind][0]))


def load_part_dir(path: str | os.PathLike, kind: str) -> LoadedPart:
    fmt, _, net_cls = _PARTS[kind]
    path = Path(path)
    meta = _read_meta(path, fmt)
    config = _part_config(path, kind, meta)
    try:
        state = load_file(str(path / WEIGHTS_FILE))
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"{path / WEIGHTS_FILE} is missing, truncated or corrupt ({str(e)[:120]})") from None
    net = net_cls(config)
    _load_into(net, state, str(path / WEIGHTS_FILE))
    return LoadedPart(config, net.eval(), meta.get("info", {}))
