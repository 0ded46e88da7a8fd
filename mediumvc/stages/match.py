"""The target-matching stage: the converted mel's slow part moved toward the target's own frames.

For each converted frame, the mean of its `k` nearest target frames is the target saying the same sound.
Nearness is cosine similarity on mean-removed normalised log-mels and, with `content` > 0, on the content
model's embeddings of the source frame and of the target frames (as kNN-VC matches on content features),
mixed in that share. The slow part of the difference (its moving average over `frames` frames) is added at
`weight`; the fast changes, where the words live, stay the converted mel's. Matching by content also keeps
to speech: only the target's speech frames are candidates, and frames where the source is silent are left
as they are, so a noisy or musical reference lends its voice, not its background.
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
    """weight: how far the slow part moves; k: nearest target frames averaged; frames: odd smoothing length;
    content: share of the content embeddings in the similarity (0 = mel only, 1 = content only).
    Skipped when the target's frames (and, with content, the content embeddings) were not kept."""

    name = "match"
    summary = "the mel's slow part moved toward its nearest target frames"

    weight: float = 0.5
    k: int = 8
    frames: int = 13
    content: float = 0.0

    @property
    def needs(self) -> frozenset[str]:
        return frozenset({"frames", "content"} if self.content > 0 else {"frames"})

    def __post_init__(self) -> None:
        if not 0 < self.weight <= 2:
            raise ValueError(f"match.weight must be in (0, 2], not {self.weight}")
        if not 1 <= self.k <= 256:
            raise ValueError(f"match.k must be 1..256, not {self.k}")
        if not (3 <= self.frames <= 63 and self.frames % 2 == 1):
            raise ValueError(f"match.frames must be odd, 3..63, not {self.frames}")
        if not 0 <= self.content <= 1:
            raise ValueError(f"match.content must be in [0, 1], not {self.content}")

    def __call__(self, mel: torch.Tensor, context: StageContext) -> torch.Tensor:
        voice = context.voice
        if voice.frames is None:
            return mel
        if self.content == 0:
            return match_target(mel, voice.frames, self)
        if voice.content is None or context.source_content is None:
            return mel
        by_content = ContentMatch(context.source_content, voice.content, context.source_speech)
        return match_target(mel, voice.frames, self, by_content)


@dataclass(frozen=True)
class ContentMatch:
    """source: (T, D) content embeddings of the source frames; reference: (U, D) of the reference frames;
    speech: (T,) bool, the source frames where speech is heard (None = all)."""

    source: torch.Tensor
    reference: torch.Tensor
    speech: torch.Tensor | None = None


def _unit_rows(x: torch.Tensor) -> torch.Tensor:
    """Rows minus their mean row, at unit length: cosine similarity with the recording's offset removed."""
    x = x.float()
    return F.normalize(x - x.mean(0), dim=1)


def nearest_frames(
    mel: torch.Tensor, reference: torch.Tensor, k: int, by_content: ContentMatch | None = None, share: float = 0.0
) -> torch.Tensor:
    """(T, 80), reference (U, 80) -> (T, 80): each frame replaced by the mean of its k nearest reference
    frames, by cosine similarity after removing each one's own mean frame (a channel or loudness offset),
    of the mels and, at `share`, of the content embeddings in `by_content`."""
    reference = reference.to(mel.device).float()
    keys, queries = _unit_rows(reference), _unit_rows(mel)
    if by_content is not None and share > 0:
        # Content embeddings carry no recording offset to remove: both sides share the reference's origin.
        origin = by_content.reference.float().mean(0)
        content_keys = F.normalize(by_content.reference.to(mel.device).float() - origin, dim=1)
        content_queries = F.normalize(by_content.source.to(mel.device).float() - origin, dim=1)
    k = min(k, len(reference))
    out = torch.empty_like(queries)
    for s in range(0, len(queries), _CHUNK_FRAMES):
        chunk = slice(s, s + _CHUNK_FRAMES)
        similarity = queries[chunk] @ keys.T
        if by_content is not None and share > 0:
            similarity = (1 - share) * similarity + share * (content_queries[chunk] @ content_keys.T)
        out[chunk] = reference[similarity.topk(k, dim=1).indices].mean(1)
    return out


def reference_frames(mels: list[torch.Tensor]) -> torch.Tensor:
    """Normalised mels of the target recordings, each (U_i, 80) -> (U, 80) with U <= MAX_REFERENCE_FRAMES:
    concatenated, and thinned to every n-th frame when longer (every recording keeps its share)."""
    frames = torch.cat(mels)
    step = -(-len(frames) // MAX_REFERENCE_FRAMES)  # ceil
    return frames[::step]


def match_target(
    converted: torch.Tensor, reference: torch.Tensor, settings: MatchStage, by_content: ContentMatch | None = None
) -> torch.Tensor:
    """Converted (T, 80) + weight x (slow part of its nearest target frames - its own slow part), in [0, 1].

    reference: the target recordings' normalised mel frames (U, 80), U >= 1.
    by_content: content embeddings to match by (at `settings.content`) and the source's speech frames, the only
    ones moved (the change fades in and out over `settings.frames`)."""
    if reference.dim() != 2 or reference.shape[1] != converted.shape[1] or len(reference) == 0:
        raise ValueError(
            f"target matching needs reference frames (U, {converted.shape[1]}), got {tuple(reference.shape)}"
        )
    matched = nearest_frames(converted, reference, settings.k, by_content, settings.content)
    # slow(x) = x - fast(x), so slow(matched) - slow(converted) = matched - converted - fast(matched - converted)
    delta = matched - converted.float()
    slow = delta - fast_changes(delta, settings.frames)
    if by_content is not None and by_content.speech is not None:
        speech = by_content.speech.to(converted.device).float()[:, None]
        slow = slow * (speech - fast_changes(speech, settings.frames))  # the speech mask's moving average
    return (converted + settings.weight * slow).clamp(0.0, 1.0)
