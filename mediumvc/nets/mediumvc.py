"""MediumVC, the any-to-any stage: SSIF -> content encoder -> fusion with the target
d-vector -> decoder -> mel. `MediumVC` owns the frozen SingleVC that makes the SSIF, so one
module maps a source mel and a speaker vector to the converted mel."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mediumvc.mel import fast_changes
from mediumvc.nets.blocks import AttentionNorm, Convertor, ResBlock, res_stack
from mediumvc.nets.singlevc import SingleVC

# Brings the fast changes (std about 0.06 in the normalised mels of speech_dev) to the unit scale of the
# instance-normed content, so the zero-initialised convolution reading them learns at the content's pace
# (unscaled, 500 fine-tuning steps had taught the network next to nothing from them).
DETAIL_SCALE = 16.0


@dataclass(frozen=True)
class MediumVCConfig:
    """Widths of the content encoder and decoder. Defaults are the paper's (about 21.3 M trainable)."""

    n_mels: int = 80
    speaker_dim: int = 256  # d-vector size; also the content width the fusion needs
    content_hidden: int = 256
    content_bottleneck: int = 36
    content_bottleneck_heads: int = 2
    content_heads: int = 8
    decoder_hidden: int = 256
    decoder_bottleneck: int = 128
    decoder_bottleneck_heads: int = 4
    d_model: int = 512
    heads: int = 8
    n_convertors: int = 3
    d_hidden: int = 1024
    postnet_widths: tuple[int, ...] = (512, 256, 128, 80, 80)  # ReLU ResBlocks from d_model; ends at n_mels
    dropout: float = 0.1
    attention_prenorm: bool = False  # not in the paper: channels centred over time before attention (AttentionNorm)
    ssif_skip: bool = False  # not in the paper: the decoder predicts a change to the SSIF (see MediumVC)
    speaker_eq: bool = False  # not in the paper: a per-mel-bin gain and offset from the d-vector (SpeakerEQ)
    # not in the paper: frames of the moving average whose residual (the source's fast changes) joins the
    # content (see MediumVC); 0 = off
    source_detail: int = 0

    def __post_init__(self) -> None:
        if self.postnet_widths[-1] != self.n_mels:
            raise ValueError(f"postnet_widths must end at n_mels={self.n_mels}, got {self.postnet_widths}")
        if self.source_detail and not (3 <= self.source_detail <= 63 and self.source_detail % 2 == 1):
            raise ValueError(f"source_detail must be 0 (off) or odd, 3..63 frames, not {self.source_detail}")


class ContentEncoder(nn.Module):
    """(B, T, 80) -> (B, speaker_dim, T): ResBlocks to a narrow bottleneck, Attention&IN, widen, Attention&IN."""

    def __init__(self, c: MediumVCConfig) -> None:
        super().__init__()
        self.narrow = nn.Sequential(
            ResBlock(c.n_mels, c.content_hidden, True), ResBlock(c.content_hidden, c.content_bottleneck, False)
        )
        self.narrow_attention = AttentionNorm(
            c.content_bottleneck, c.content_bottleneck_heads, instance_norm=True, prenorm=c.attention_prenorm
        )
        self.widen = nn.Sequential(
            ResBlock(c.content_bottleneck, c.content_hidden, True), ResBlock(c.content_hidden, c.speaker_dim, False)
        )
        self.widen_attention = AttentionNorm(
            c.speaker_dim, c.content_heads, instance_norm=True, prenorm=c.attention_prenorm
        )

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.narrow_attention(self.narrow(mel.transpose(1, 2)))
        return self.widen_attention(self.widen(x))


def fuse_speaker(content: torch.Tensor, speaker: torch.Tensor) -> torch.Tensor:
    """The original's `append_cond` (drawn as AdaIN, but it uses no statistics of the content):
    h = x * sqrt|e| + e, with e the d-vector divided by its max-abs value. (B, C, T), (B, C) -> (B, C, T)."""
    e = speaker / speaker.abs().amax(dim=-1, keepdim=True).clamp_min(1e-8)
    e = e.unsqueeze(-1)
    return content * e.abs().sqrt() + e


class Decoder(nn.Module):
    """(B, speaker_dim, T) content + (B, speaker_dim) d-vector -> (B, T, 80) mel, >= 0.
    No padding mask reaches its attention, as in the original."""

    def __init__(self, c: MediumVCConfig) -> None:
        super().__init__()
        self.narrow = nn.Sequential(
            ResBlock(c.speaker_dim, c.decoder_hidden, True), ResBlock(c.decoder_hidden, c.decoder_bottleneck, False)
        )
        self.narrow_attention = AttentionNorm(
            c.decoder_bottleneck, c.decoder_bottleneck_heads, instance_norm=False, prenorm=c.attention_prenorm
        )
        self.widen = nn.Sequential(
            ResBlock(c.decoder_bottleneck, c.decoder_hidden, True), ResBlock(c.decoder_hidden, c.d_model, False)
        )
        self.widen_attention = AttentionNorm(c.d_model, c.heads, instance_norm=False, prenorm=c.attention_prenorm)
        self.convertors = nn.ModuleList(
            Convertor(c.d_model, c.heads, c.d_hidden, c.dropout) for _ in range(c.n_convertors)
        )
        self.postnet = res_stack([c.d_model, *c.postnet_widths], act=True)
        # ssif_skip: a signed change to the SSIF, starting near zero (not exactly: weight norm needs |w| > 0)
        self.change = None
        if c.ssif_skip:
            self.change = nn.Conv1d(c.n_mels, c.n_mels, 1)
            nn.init.normal_(self.change.weight, std=1e-4)
            nn.init.zeros_(self.change.bias)

    def forward(self, content: torch.Tensor, speaker: torch.Tensor) -> torch.Tensor:
        """-> (B, T, 80): the mel (>= 0), or with ssif_skip the signed change to add to the SSIF."""
        x = self.narrow_attention(self.narrow(fuse_speaker(content, speaker)))
        x = self.widen_attention(self.widen(x)).transpose(1, 2)  # (B, T, d)
        for convertor in self.convertors:
            x = convertor(x)
        y = self.postnet(x.transpose(1, 2))
        return (self.change(y) if self.change is not None else F.relu(y)).transpose(1, 2)


class SpeakerEQ(nn.Module):
    """A direct path from the d-vector to the output mel, a per-bin gain and offset
    (mel -> ReLU(mel * exp(g) + o)), zero-initialised so it starts as the identity.
    (B, T, 80), (B, 256) -> (B, T, 80)."""

    def __init__(self, speaker_dim: int, n_mels: int) -> None:
        super().__init__()
        self.proj = nn.Linear(speaker_dim, 2 * n_mels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, mel: torch.Tensor, speaker: torch.Tensor) -> torch.Tensor:
        gain, offset = self.proj(speaker).unsqueeze(1).chunk(2, dim=-1)
        return F.relu(mel * gain.exp() + offset)


class MediumVC(nn.Module):
    """Frozen SingleVC -> clamp [0, 1] -> content encoder -> fusion -> decoder.

    With `singlevc=None` the content encoder reads the source mel directly: the paper's "MwoS" ablation.

    `ssif_skip` (not in the paper): output = ReLU(SSIF + decoder's change). The paper's decoder rebuilds
    the whole mel through four residual-free attentions; measured on speech_dev, copying the SSIF
    alone is closer to the target (L1 0.10) than that decoder after thousands of CPU steps (0.13).
    With the skip the network starts at the SSIF and learns only the target speaker's changes.

    `source_detail` (not in the paper): SingleVC smooths away the fast changes that carry many of the
    words (consonant onsets, formant transitions). A zero-initialised convolution adds them, the detail
    mel's residual from its own moving average, to the content. At inference the detail mel is the
    source's; while training it is a frequency-warped copy of the target (so its formants do not give
    the target voice away).

    forward: normalised source mel (B, T, 80), speaker d-vector (B, 256) [, pad mask (B, T)]
             [, detail mel (B, T, 80), default the source mel]
             -> normalised converted mel (B, T, 80), >= 0 (clamp to [0, 1] before vocoding).
    """

    def __init__(self, config: MediumVCConfig = MediumVCConfig(), singlevc: SingleVC | None = None) -> None:
        super().__init__()
        self.config = config
        self.singlevc = singlevc
        self.content_encoder = ContentEncoder(config)
        self.decoder = Decoder(config)
        self.speaker_eq = SpeakerEQ(config.speaker_dim, config.n_mels) if config.speaker_eq else None
        self.detail_in = None
        if config.source_detail:
            self.detail_in = nn.Conv1d(config.n_mels, config.speaker_dim, 3, padding=1)
            nn.init.zeros_(self.detail_in.weight)  # starts as the network without it (fine-tuning keeps its start)
            nn.init.zeros_(self.detail_in.bias)

    def ssif(self, mel: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        """SingleVC's output clamped to [0, 1] (or the mel itself without SingleVC). (B, T, 80)."""
        return mel if self.singlevc is None else self.singlevc(mel, pad_mask).clamp(0.0, 1.0)

    def forward(
        self,
        mel: torch.Tensor,
        speaker: torch.Tensor,
        pad_mask: torch.Tensor | None = None,
        detail_mel: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self.from_ssif(self.ssif(mel, pad_mask), speaker, mel if detail_mel is None else detail_mel)

    def from_ssif(
        self, ssif: torch.Tensor, speaker: torch.Tensor, detail_mel: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The stages after SingleVC: SSIF (B, T, 80) in [0, 1] + d-vector (B, 256) [+ detail mel (B, T, 80),
        needed with `source_detail`] -> mel (B, T, 80)."""
        content = self.content_encoder(ssif)
        if self.detail_in is not None:
            if detail_mel is None:
                raise ValueError("this MediumVC has source_detail on: pass the detail mel (the source's) too")
            cue = DETAIL_SCALE * fast_changes(detail_mel, self.config.source_detail)
            content = content + self.detail_in(cue.transpose(1, 2))
        y = self.decoder(content, speaker)
        if self.config.ssif_skip:
            y = F.relu(ssif + y)
        return y if self.speaker_eq is None else self.speaker_eq(y, speaker)

    def trainable_parameters(self):
        """Parameters of the content encoder and decoder (SingleVC stays frozen)."""
        return [p for name, p in self.named_parameters() if not name.startswith("singlevc.")]
