"""ONNX export of a model directory's networks and its vocoder, for runtimes other than PyTorch.

`networks.onnx`: normalised source mel (1, T, 80) float32 + d-vector (1, 256) -> converted mel (1, T, 80), the
networks only (`VoiceConverter.convert_mel` without its windowing; the post-network stages are signal processing
and stay in Python). `vocoder.onnx`: log-mel (1, 80, T) -> waveform (1, 1, T * 256) (denormalise first, as
`mediumvc.mel.denormalize_mel` does). T is dynamic in both. The model's config.json is copied beside them.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import torch

from mediumvc.errors import MediumVCError

OPSET = 17


class _Networks(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, mel: torch.Tensor, dvector: torch.Tensor) -> torch.Tensor:
        return self.model(mel, dvector)


def _export(module: torch.nn.Module, args: tuple, path: Path, inputs: list[str], output: str, axes: dict) -> None:
    module.eval()
    tmp = path.with_name(path.name + ".tmp")  # a killed export leaves no half file under the real name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's notes on traced control flow
        torch.onnx.export(
            module,
            args,
            str(tmp),
            input_names=inputs,
            output_names=[output],
            dynamic_axes=axes,
            opset_version=OPSET,
            training=torch.onnx.TrainingMode.EVAL,
            dynamo=False,
        )
    os.replace(tmp, path)


def export_onnx(model_dir: str | Path | None, out_dir: str | Path) -> dict[str, Path]:
    """Write OUT/networks.onnx, OUT/vocoder.onnx and OUT/config.json; returns their paths by name."""
    try:
        import onnx  # noqa: F401  (the exporter needs it)
    except ImportError:
        raise MediumVCError("ONNX export needs the onnx package: pip install 'mediumvc[onnx]'") from None
    from mediumvc.checkpoint import CONFIG_FILE, load_model_dir
    from mediumvc.converter import BUNDLED_MODEL
    from mediumvc.vocoder import load_hifigan

    model_dir = Path(model_dir) if model_dir else BUNDLED_MODEL
    loaded = load_model_dir(model_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frames = 64
    mel = torch.rand(1, frames, loaded.config.mediumvc.n_mels)
    dvector = torch.nn.functional.normalize(torch.randn(1, loaded.config.mediumvc.speaker_dim), dim=1)
    paths = {"networks": out / "networks.onnx", "vocoder": out / "vocoder.onnx", "config": out / CONFIG_FILE}
    _export(
        _Networks(loaded.model),
        (mel, dvector),
        paths["networks"],
        ["mel", "dvector"],
        "converted",
        {"mel": {1: "frames"}, "converted": {1: "frames"}},
    )
    vocoder = loaded.config.vocoder
    generator = load_hifigan() if vocoder == "hifigan-universal" else load_hifigan(model_dir / vocoder)
    _export(
        generator,
        (torch.randn(1, 80, frames) - 5.0,),
        paths["vocoder"],
        ["log_mel"],
        "waveform",
        {"log_mel": {2: "frames"}, "waveform": {2: "samples"}},
    )
    shutil.copy(model_dir / CONFIG_FILE, paths["config"])
    return paths
