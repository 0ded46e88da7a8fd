"""Building blocks shared by SingleVC and MediumVC. Pure torch; layout (B, C, T)
unless stated, so convolutions need no transposes.

The original weight-normalises every Conv1d. Here the modules hold plain convolutions;
`add_weight_norm` attaches the reparametrisation for training and `fold_weight_norm` removes it
again (exactly as the original does before inference), so inference pays nothing for it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm

_CONVS = (nn.Conv1d, nn.ConvTranspose1d)


def add_weight_norm(module: nn.Module) -> nn.Module:
    """Weight-normalise every 1-D (transposed) convolution in `module`, in place."""
    with torch.enable_grad():  # under no_grad the new parameters would not be trainable
        for m in module.modules():
            if isinstance(m, _CONVS) and not parametrize.is_parametrized(m, "weight"):
                weight_norm(m)
    return module


def fold_weight_norm(module: nn.Module) -> nn.Module:
    """Replace every weight-norm parametrisation by its current plain weight (a trainable
    parameter), in place."""
    with torch.enable_grad():  # under no_grad torch leaves a plain tensor, which nothing trains
        for m in module.modules():
            if parametrize.is_parametrized(m, "weight"):
                parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
    return module


def fold_weight_norm_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """State dict with `x.weight_g` / `x.weight_v` pairs (torch's old weight_norm, as in the
    original checkpoints) or `x.parametrizations.weight.original0/1` -> plain `x.weight`."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        for g_suffix, v_suffix in (
            (".weight_g", ".weight_v"),
            (".parametrizations.weight.original0", ".parametrizations.weight.original1"),
        ):
            if key.endswith(g_suffix):
                base = key[: -len(g_suffix)]
                v = state[base + v_suffix]
                norm = v.flatten(1).norm(dim=1).view(-1, *([1] * (v.dim() - 1)))
                out[base + ".weight"] = value * v / norm
                break
            if key.endswith(v_suffix):
                break
        else:
            out[key] = value
    return out


class ResBlock(nn.Module):
    """Two parallel convolutions (k=5 and k=3, 'same' padding), each with an optional ReLU,
    summed, plus a residual: identity when widths match, else a 1x1 conv. (B, c_in, T) -> (B, c_out, T).

    The original also builds the 1x1 conv when widths match and never uses it; we leave it out,
    so our parameter counts are the original's minus those unused weights (see docs/architecture.md).
    """

    def __init__(self, c_in: int, c_out: int, act: bool) -> None:
        super().__init__()
        self.conv5 = nn.Conv1d(c_in, c_out, 5, padding=2)
        self.conv3 = nn.Conv1d(c_in, c_out, 3, padding=1)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else None
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.conv5(x), self.conv3(x)
        if self.act:
            a, b = F.relu(a), F.relu(b)
        return a + b + (x if self.skip is None else self.skip(x))


def res_stack(widths: list[int], act: bool) -> nn.Sequential:
    """ResBlocks through consecutive widths, e.g. [80, 256, 36] -> 80->256, 256->36."""
    return nn.Sequential(*(ResBlock(a, b, act) for a, b in zip(widths[:-1], widths[1:])))


class SelfAttention(nn.Module):
    """Plain multi-head self-attention: no residual, no norm (the original's `Attention`).

    Same parameters as `nn.MultiheadAttention` (in_proj_weight/bias, out_proj) so the math and the
    counts match, but computed with `scaled_dot_product_attention`, which stays fast under bf16.
    Layout (B, T, d). `pad_mask` (B, T) is True at padded frames, which are then ignored as keys.
    """

    def __init__(self, d: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if d % heads:
            raise ValueError(f"attention width {d} is not divisible by {heads} heads")
        self.heads = heads
        self.dropout = dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d, d))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d))
        self.out_proj = nn.Linear(d, d)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = (
            F.linear(x, self.in_proj_weight, self.in_proj_bias)
            .view(b, t, 3, self.heads, d // self.heads)
            .permute(2, 0, 3, 1, 4)
        )
        keep = None if pad_mask is None else ~pad_mask[:, None, None, :]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=keep, dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(y.transpose(1, 2).reshape(b, t, d))


class AttentionNorm(nn.Module):
    """Attention -> ReLU -> optional InstanceNorm1d (affine-free, per utterance), on (B, C, T).

    `prenorm` (not in the original) centres and scales each channel over time before the attention.
    The original's input here carries a large offset common to all frames, so every key looks alike,
    the attention starts uniform and its output is the time average: the network predicts one frame
    for the whole utterance and learns its way out only slowly (the 'silent plateau'). No parameters.
    """

    def __init__(self, d: int, heads: int, instance_norm: bool, prenorm: bool = False) -> None:
        super().__init__()
        self.attention = SelfAttention(d, heads)
        self.norm = nn.InstanceNorm1d(d) if instance_norm else nn.Identity()
        self.prenorm = prenorm

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        if self.prenorm:
            x = F.instance_norm(x)
        y = F.relu(self.attention(x.transpose(1, 2), pad_mask)).transpose(1, 2)
        return self.norm(y)


class Convertor(nn.Module):
    """Transformer-like block without LayerNorm, layout (B, T, d):
    x + Drop(MHA(x)); x + Drop(Conv1x1(ReLU(Conv5(x))))."""

    def __init__(self, d: int, heads: int, d_hidden: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.attention = SelfAttention(d, heads, dropout)
        self.conv1 = nn.Conv1d(d, d_hidden, 5, padding=2)
        self.conv2 = nn.Conv1d(d_hidden, d, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.drop(self.attention(x, pad_mask))
        y = self.conv2(F.relu(self.conv1(x.transpose(1, 2)))).transpose(1, 2)
        return x + self.drop(y)
