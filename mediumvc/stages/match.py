"""The target-matching stage: the converted mel's slow part moved toward the target's own frames.

For each converted frame, the mean of its `k` nearest target frames (cosine on mean-removed normalised
log-mels, as kNN-VC matches its features) is the target saying the same sound. The slow part of the
difference (its moving average over `frames` frames) is added at `weight`; the fast changes, where the
words live, stay the converted mel's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from mediumvc.audio import HOP_LENGTH, SAMPLE_RATE
from mediumvc.mel import fast_changes
from mediumvc.stages.base import Stage, StageContext

# Reference frames kept (5 minutes): more recordings are thinned evenly. With 1,024 output frames per step
# the similarity matrix stays under 1,024 x 12,920 floats (53 MB) for any input length.
MAX_REFERENCE_FRAMES = int(300 * SAMPLE_RATE / HOP_LENGTH)
_CHUNK_FRAMES = 1024


@dataclass(frozen=True)
class MatchStage(Stage):
    """weight: how far the slow part moves; k: nearest target frames averaged; frames: odd smoothing length.
    Skipped when the target's frames were not kept."""

    name = "match"
    summary = "the mel's slow part moved toward its nearest target frames"
    needs = frozenset({"frames"})

    weight: float = 0.5
    k: int = 8
    frames: int = 13

    def __post_init__(self) -> None:
        if not 0 < self.weight <= 2:
            raise ValueError(f"match.weight must be in (0, 2], not {self.weight}")
        if not 1 <= self.k <= 256:
            raise ValueError(f"match.k must be 1..256, not {self.k}")
        if not (3 <= self.frames <= 63 and self.frames % 2 == 1):
            raise ValueError(f"match.frames must be odd, 3..63, not {self.frames}")

    def __call__(self, mel: torch.Tensor, context: StageContext) -> torch.Tensor:
        frames = context.voice.frames
        return mel if frames is None else match_target(mel, frames, self)


def nearest_frames(mel: torch.Tensor, reference: torch.Tensor, k: int) -> torch.Tensor:
    """(T, 80), reference (U, 80) -> (T, 80): each frame replaced by the mean of its k nearest reference
    frames, by cosine similarity after removing each mel's own mean frame (a channel or loudness offset)."""
    reference = reference.to(mel.device).float()
    keys = F.normalize(reference - reference.mean(0), dim=1)
    queries = F.normalize(mel.float() - mel.float().mean(0), dim=1)
    k = min(k, len(reference))
    out = torch.empty_like(queries)
    for s in range(0, len(queries), _CHUNK_FRAMES):
        idx = (queries[s : s + _CHUNK_FRAMES] @ keys.T).topk(k, dim=1).indices
        out[s : s + _CHUNK_FRAMES] = reference[idx].mean(1)
    return out


def reference_frames(mels: list[torch.Tensor]) -> torch.Tensor:
    """Normalised mels of the target recordings, each (U_i, 80) -> (U, 80) with U <= MAX_REFERENCE_FRAMES:
    concatenated, and thinned to every n-th frame when longer (every recording keeps its share)."""
    frames = torch.cat(mels)
    step = -(-len(frames) // MAX_REFERENCE_FRAMES)  # ceil
    return frames[::step]


def match_target(converted: torch.Tensor, reference: torch.Tensor, settings: MatchStage) -> torch.Tensor:
    """Converted (T, 80) + weight x (slow part of its nearest target frames - its own slow part), in [0, 1].

    reference: the target recordings' normalised mel frames (U, 80), U >= 1."""
    if reference.dim() != 2 or reference.shape[1] != converted.shape[1] or len(reference) == 0:
        raise ValueError(
            f"target matching needs reference frames (U, {converted.shape[1]}), got {tuple(reference.shape)}"
        )
    matched = nearest_frames(converted, reference, settings.k)
    # slow(x) = x - fast(x), so slow(matched) - slow(converted) = matched - converted - fast(matched - converted)
    delta = matched - converted.float()
    return (converted + settings.weight * (delta - fast_changes(delta, settings.frames))).clamp(0.0, 1.0)
