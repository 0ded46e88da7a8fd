"""Generalised end-to-end (GE2E) loss for d-vector training."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GE2ELoss(nn.Module):
    """Embeddings (N speakers, M utterances, D) -> scalar loss, summed over all N*M utterances.

    Each utterance is compared by cosine with every speaker centroid; its own speaker's centroid
    leaves the utterance out. Similarities are scaled by learnable w (init 10) and b (init -5).
    `softmax` (default): -log softmax over speakers at the true one. `contrast`:
    1 - sigmoid(S_own) + max over other speakers of sigmoid(S_other).
    """

    def __init__(self, init_w: float = 10.0, init_b: float = -5.0, method: str = "softmax") -> None:
        super().__init__()
        if method not in ("softmax", "contrast"):
            raise ValueError(f"GE2E method must be 'softmax' or 'contrast', not {method!r}")
        self.w = nn.Parameter(torch.tensor(float(init_w)))
        self.b = nn.Parameter(torch.tensor(float(init_b)))
        self.method = method

    def similarity(self, emb: torch.Tensor) -> torch.Tensor:
        """(N, M, D) -> scaled cosine similarities (N, M, N)."""
        n, m, _ = emb.shape
        if m < 2:
            raise ValueError("GE2E needs at least 2 utterances per speaker")
        total = emb.sum(dim=1)  # (N, D)
        centroids = F.normalize(total / m, dim=-1)
        own = F.normalize((total.unsqueeze(1) - emb) / (m - 1), dim=-1)  # leave-one-out, (N, M, D)
        e = F.normalize(emb, dim=-1)
        cos = torch.einsum("nmd,kd->nmk", e, centroids)
        own_cos = (e * own).sum(-1)  # (N, M)
        eye = torch.eye(n, dtype=torch.bool, device=emb.device).unsqueeze(1)  # (N, 1, N)
        cos = torch.where(eye, own_cos.unsqueeze(-1), cos)
        return self.w * cos + self.b

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        s = self.similarity(emb)
        n, m, _ = s.shape
        target = torch.arange(n, device=s.device).repeat_interleave(m)
        s = s.reshape(n * m, n)
        if self.method == "softmax":
            return F.cross_entropy(s, target, reduction="sum")
        sig = torch.sigmoid(s)
        own = sig.gather(1, target[:, None]).squeeze(1)
        others = sig.masked_fill(F.one_hot(target, n).bool(), float("-inf")).amax(1)
        return (1 - own + others).sum()
