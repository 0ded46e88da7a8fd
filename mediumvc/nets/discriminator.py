"""A mel patch discriminator for training only (not in the paper).

An L1-trained mel regressor predicts the average of what it cannot tell apart, so it smooths the
fast, uncertain parts of speech (consonant onsets, formant transitions) that carry the words. A
discriminator that judges small time-frequency patches of real against predicted mels penalises that
smoothing, as HiFi-GAN's discriminators do for waveforms. It never ships: export keeps `net.` only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm


@dataclass(frozen=True)
class DiscriminatorConfig:
    channels: int = 32
    layers: int = 4  # 2-D convolutions before the logit layer; every second one halves the mel axis


class MelDiscriminator(nn.Module):
    """forward: normalised mel (B, T, 80) -> (logits (B, T, F'), feature maps of every layer).

    Fully convolutional over time, so any crop length works; each logit sees 11 frames x a few
    mel bins: a judge of local texture, not of the speaker or the words as a whole."""

    def __init__(self, config: DiscriminatorConfig = DiscriminatorConfig()) -> None:
        super().__init__()
        c, convs = config.channels, []
        for i in range(config.layers):
            stride = (1, 2) if i % 2 == 1 else (1, 1)
            convs.append(weight_norm(nn.Conv2d(1 if i == 0 else c, c, (3, 5), stride=stride, padding=(1, 2))))
        self.convs = nn.ModuleList(convs)
        self.logit = weight_norm(nn.Conv2d(c, 1, (3, 3), padding=(1, 1)))
        self.act = nn.LeakyReLU(0.2)

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x, features = mel.unsqueeze(1), []
        for conv in self.convs:
            x = self.act(conv(x))
            features.append(x)
        return self.logit(x).squeeze(1), features
