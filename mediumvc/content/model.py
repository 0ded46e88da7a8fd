"""The content model: which phone is said in each mel frame, whoever says it.

Normalised mel (B, T, 80) -> phone logits (B, T, 40) over `PHONES` and a low-dimensional content
embedding (B, T, embed_dim) from which the logits are read linearly. Pure torch, about 2 M parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from mediumvc.content.phones import PHONES


@dataclass(frozen=True)
class ContentModelConfig:
    """channels: width of the convolution stack; layers: residual blocks; kernel: frames each block sees
    (receptive field 1 + layers * (kernel - 1)); embed_dim: size of the content embedding."""

    n_mels: int = 80
    channels: int = 256
    layers: int = 6
    kernel: int = 5
    embed_dim: int = 32
    n_phones: int = len(PHONES)
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.kernel % 2 != 1 or self.kernel < 1:
            raise ValueError(f"content.kernel must be odd, not {self.kernel}")
        if self.layers < 1 or self.channels < 1 or self.embed_dim < 1:
            raise ValueError("content.layers, channels and embed_dim must be positive")


class _Block(nn.Module):
    def __init__(self, channels: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel, padding=kernel // 2)
        self.norm = nn.GroupNorm(1, channels)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(nn.functional.gelu(self.norm(self.conv(x))))


class ContentModel(nn.Module):
    """Args: config. Call: mel (B, T, 80) [, lengths (B,)] -> (logits (B, T, n_phones), embedding (B, T, embed_dim))."""

    def __init__(self, config: ContentModelConfig = ContentModelConfig()) -> None:
        super().__init__()
        c = self.config = config
        self.inp = nn.Conv1d(c.n_mels, c.channels, 1)
        self.blocks = nn.Sequential(*(_Block(c.channels, c.kernel, c.dropout) for _ in range(c.layers)))
        self.embed = nn.Conv1d(c.channels, c.embed_dim, 1)
        self.classify = nn.Conv1d(c.embed_dim, c.n_phones, 1)

    def forward(self, mel: torch.Tensor, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """lengths: (B,) valid frames of each mel (None = all); the rest is padding."""
        x = mel.transpose(1, 2).float()
        # Each mel band's mean over the utterance removed: the recording channel and level do not matter.
        if lengths is None:
            x = x - x.mean(dim=2, keepdim=True)
        else:
            valid = (torch.arange(x.shape[2], device=x.device)[None, :] < lengths.to(x.device)[:, None]).unsqueeze(1)
            mean = (x * valid).sum(2, keepdim=True) / valid.sum(2, keepdim=True).clamp_min(1)
            x = (x - mean) * valid
        embedding = self.embed(self.blocks(self.inp(x)))
        return self.classify(embedding).transpose(1, 2), embedding.transpose(1, 2)

    @torch.inference_mode()
    def posteriors(self, mel: torch.Tensor) -> torch.Tensor:
        """(T, 80) -> (T, n_phones) phone probabilities per frame."""
        return self(mel.unsqueeze(0))[0][0].softmax(-1)

    @torch.inference_mode()
    def features(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(T, 80) -> (content embedding (T, embed_dim), speech (T,) bool: frames where silence is not the
        likeliest reading, P(SIL) < 0.5)."""
        logits, embedding = self(mel.unsqueeze(0).float())
        return embedding[0], logits[0].softmax(-1)[:, PHONES.index("SIL")] < 0.5
