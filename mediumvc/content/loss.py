"""The content loss: a frozen content model must read the same phones in a predicted mel as in its reference."""

from __future__ import annotations

import torch

from mediumvc.content.model import ContentModel


def content_loss(
    model: ContentModel, pred: torch.Tensor, reference: torch.Tensor, lengths: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean over valid frames of KL(p_reference || p_pred), the content model's phone posteriors.

    pred, reference: (B, T, 80) normalised mels, frame-aligned; lengths: (B,) valid frames (None = all).
    Gradients flow into `pred` only; the model's weights are not trained here.
    """
    if lengths is None:
        lengths = torch.full((pred.shape[0],), pred.shape[1], device=pred.device)
    valid = torch.arange(pred.shape[1], device=pred.device)[None, :] < lengths.to(pred.device)[:, None]
    with torch.no_grad():
        target = model(reference, lengths)[0].float().log_softmax(-1)
    logp = model(pred * valid[..., None], lengths)[0].float().log_softmax(-1)  # padding reaches no frame
    kl = (target.exp() * (target - logp)).sum(-1)  # (B, T)
    return (kl * valid).sum() / valid.sum().clamp_min(1)


def frozen(model: ContentModel) -> ContentModel:
    """The model in eval mode with no trainable parameters (dropout off, weights fixed)."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
