"""`ISTFTVocoder`: a fast generator of our own. A ConvNeXt backbone runs at the mel's frame rate and a linear
head predicts each frame's complex spectrum (log-magnitude and phase); an inverse STFT on the mel's own grid
makes the waveform. Nothing runs at the sample rate but one FFT per frame, so it costs a few percent of
HiFi-GAN V1 (about 52 GFLOP per second of audio) and is trained by distillation from it
(`mediumvc.vocoder.distill`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mediumvc.audio import HOP_LENGTH
from mediumvc.mel import N_FFT, PAD
from mediumvc.vocoder.base import Vocoder

MAX_LOG_MAGNITUDE = 4.6  # e^4.6 = 100: a bound that keeps an untrained head's spectra finite


@dataclass(frozen=True)
class ISTFTVocoderConfig:
    """dim / intermediate: ConvNeXt widths; layers: blocks; kernel: depthwise kernel (frames)."""

    num_mels: int = 80
    dim: int = 256
    intermediate: int = 768
    layers: int = 8
    kernel: int = 7


class ConvNeXtBlock(nn.Module):
    """x + gamma * W2(gelu(W1(norm(depthwise(x))))) on (B, C, T)."""

    def __init__(self, dim: int, intermediate: int, kernel: int, layer_scale: float) -> None:
        super().__init__()
        self.depthwise = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.up = nn.Linear(dim, intermediate)
        self.down = nn.Linear(intermediate, dim)
        self.gamma = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.depthwise(x).transpose(1, 2))
        h = self.gamma * self.down(F.gelu(self.up(h)))
        return x + h.transpose(1, 2)


class ISTFTVocoder(Vocoder):
    """Log-magnitude mel (B, 80, T) -> waveform (B, 1, T * 256) in [-1, 1].

    Frame t's spectrum is placed where the mel front end took frame t from (samples t * 256 - 384 onwards), so
    the output lines up with HiFi-GAN's sample for sample.
    """

    def __init__(self, config: ISTFTVocoderConfig = ISTFTVocoderConfig()) -> None:
        super().__init__()
        c = self.config = config
        self.embed = nn.Conv1d(c.num_mels, c.dim, c.kernel, padding=c.kernel // 2)
        self.norm_in = nn.LayerNorm(c.dim)
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(c.dim, c.intermediate, c.kernel, 1.0 / c.layers) for _ in range(c.layers)
        )
        self.norm_out = nn.LayerNorm(c.dim)
        self.head = nn.Linear(c.dim, N_FFT + 2)  # log-magnitude and phase of the 513 bins
        self.register_buffer("window", torch.hann_window(N_FFT), persistent=False)
        # Receptive field of the backbone plus the three neighbouring frames that overlap each sample.
        self.context_frames = (c.layers + 1) * (c.kernel // 2) + 3

    def spectrum(self, log_mel: torch.Tensor) -> torch.Tensor:
        """(B, 80, T) -> complex spectra (B, T, 513)."""
        x = self.norm_in(self.embed(log_mel).transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            x = block(x)
        out = self.head(self.norm_out(x.transpose(1, 2))).float()  # the FFT wants fp32 under autocast
        log_magnitude, phase = out.chunk(2, dim=-1)
        magnitude = log_magnitude.clamp(max=MAX_LOG_MAGNITUDE).exp()
        return torch.polar(magnitude, phase)

    def forward(self, log_mel: torch.Tensor) -> torch.Tensor:
        return self.synthesize(self.spectrum(log_mel))

    def synthesize(self, spectrum: torch.Tensor) -> torch.Tensor:
        """Complex spectra (B, T, 513) -> waveform (B, 1, T * 256): each frame's inverse FFT, windowed, overlap-added."""
        frames = torch.fft.irfft(spectrum, n=N_FFT) * self.window  # (B, T, 1024)
        wav = overlap_add(frames, self.window)
        return wav if self.training else wav.clamp(-1.0, 1.0)


def widened_state(state: dict[str, torch.Tensor], factor: int) -> dict[str, torch.Tensor]:
    """An `ISTFTVocoder` state at `factor` times its dim and intermediate width that computes the same function.

    Each channel is copied `factor` times and the weights that read the copies are divided among them: the copies
    carry the same values, the layer norms see the same mean and variance, and the head the same sum.
    """
    out = {}
    for name, t in state.items():
        if not name.startswith("head."):  # every other tensor's first axis is the channels it writes
            t = torch.cat([t] * factor, dim=0)
        if name.endswith(("up.weight", "down.weight")) or name == "head.weight":  # these read widened channels
            t = torch.cat([t] * factor, dim=1) / factor
        out[name] = t
    return out


def overlap_add(frames: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Windowed frames (B, T, 1024) on the mel's grid -> (B, 1, T * 256), normalised by the summed squared window.

    The full overlap-add spans samples -384 .. (T - 1) * 256 + 640; the T * 256 samples from 0 are kept, where
    at least two frames overlap, so the normalisation never divides by a near-zero sum.
    """
    count = frames.shape[1]
    length = (count - 1) * HOP_LENGTH + N_FFT
    fold = lambda x: F.fold(x, output_size=(1, length), kernel_size=(1, N_FFT), stride=(1, HOP_LENGTH))
    wav = fold(frames.transpose(1, 2))[:, 0, 0]
    envelope = fold(window.square().expand(1, count, N_FFT).transpose(1, 2))[0, 0, 0]
    keep = slice(PAD, PAD + count * HOP_LENGTH)
    return (wav[:, keep] / envelope[keep]).unsqueeze(1)
