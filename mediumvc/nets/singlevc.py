"""SingleVC, the any-to-one stage: any speech mel -> the one training speaker's voice (SSIF)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mediumvc.nets.blocks import AttentionNorm, Convertor, ResBlock, res_stack


@dataclass(frozen=True)
class SingleVCConfig:
    """Widths of SingleVC. Defaults are the paper's (about 5.1 M parameters)."""

    n_mels: int = 80
    encoder_widths: tuple[int, ...] = (256, 128)  # ReLU ResBlocks after the mel input
    bottleneck: int = 36  # no-act ResBlock into it, then Attention&IN
    bottleneck_heads: int = 2
    d_model: int = 256  # decoder width (ResBlock, Attention&IN, Linear, Convertors)
    heads: int = 8
    n_convertors: int = 3
    d_hidden: int = 512  # Convertor feed-forward width
    postnet_widths: tuple[int, ...] = (256, 128, 80, 80)  # ReLU ResBlocks from d_model; ends at n_mels
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.postnet_widths[-1] != self.n_mels:
            raise ValueError(f"postnet_widths must end at n_mels={self.n_mels}, got {self.postnet_widths}")


class SingleVC(nn.Module):
    """Encoder (ResBlocks -> 36-d bottleneck, Attention&IN) + decoder (ResBlock, Attention&IN,
    Linear, Convertors, ResBlock post-net, Linear, ReLU).

    forward: normalised mel (B, T, 80) [+ pad mask (B, T), True = padding] -> mel (B, T, 80), >= 0.
    """

    def __init__(self, config: SingleVCConfig = SingleVCConfig()) -> None:
        super().__init__()
        c = config
        self.config = c
        self.encoder = nn.Sequential(
            res_stack([c.n_mels, *c.encoder_widths], act=True), ResBlock(c.encoder_widths[-1], c.bottleneck, act=False)
        )
        self.encoder_attention = AttentionNorm(c.bottleneck, c.bottleneck_heads, instance_norm=True)
        self.decoder_in = ResBlock(c.bottleneck, c.d_model, act=False)
        self.decoder_attention = AttentionNorm(c.d_model, c.heads, instance_norm=True)
        self.mel_linear1 = nn.Linear(c.d_model, c.d_model)
        self.convertors = nn.ModuleList(
            Convertor(c.d_model, c.heads, c.d_hidden, c.dropout) for _ in range(c.n_convertors)
        )
        self.postnet = res_stack([c.d_model, *c.postnet_widths], act=True)
        self.mel_linear2 = nn.Linear(c.n_mels, c.n_mels)

    def forward(self, mel: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = self.encoder_attention(self.encoder(mel.transpose(1, 2)))  # (B, 36, T)
        x = self.decoder_attention(self.decoder_in(x))  # (B, d, T)
        x = self.mel_linear1(x.transpose(1, 2))  # (B, T, d)
        for convertor in self.convertors:
            x = convertor(x, pad_mask)
        x = self.postnet(x.transpose(1, 2)).transpose(1, 2)  # (B, T, 80)
        return F.relu(self.mel_linear2(x))
