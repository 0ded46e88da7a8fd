"""The post-network stage protocol: a stage takes the converted mel and what is known of the source and
the target, and returns a mel of the same shape."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from mediumvc.audio import HOP_LENGTH
from mediumvc.errors import MediumVCError
from mediumvc.voice import TargetVoice

PITCH_MODES = ("target", "source")


@dataclass(frozen=True)
class StageContext:
    """What a stage may use besides the mel.

    source_wav: (N,) float32 source at 22.05 kHz, peak-normalised.
    source_mel: (T, 80) normalised source mel, T = N // 256.
    voice: the target (d-vector, and the F0 and frames the stages asked for).
    source_f0: median F0 (Hz) of the whole source when `source_wav` is a segment of it; None = of `source_wav`.
    pitch: "target" (move the source's intonation to the target's pitch level) or "source" (keep its level).
    transpose: semitones added on top of that.
    source_content: (T, D) content embeddings of `source_mel`, when a stage matches by content; else None.
    source_speech: (T,) bool, the frames of `source_mel` where speech is heard (with `source_content`).
    source_contour: (T,) F0 of `source_wav` per frame (Hz, 0 = unvoiced) when already tracked; None = not yet.
    finished: whether the vocoded waveform goes through the stages' `finish` (not when streaming: each chunk is
        vocoded apart), so a stage may leave part of its work to it.
    """

    source_wav: np.ndarray
    source_mel: torch.Tensor
    voice: TargetVoice
    source_f0: float | None = None
    pitch: str = "target"
    transpose: float = 0.0
    source_content: torch.Tensor | None = None
    source_speech: torch.Tensor | None = None
    source_contour: np.ndarray | None = None
    finished: bool = True

    def __post_init__(self) -> None:
        if self.pitch not in PITCH_MODES:
            raise MediumVCError(f"pitch must be one of {PITCH_MODES}, not {self.pitch!r}")
        if not -24 <= self.transpose <= 24:
            raise MediumVCError(f"transpose must be within two octaves (-24..24 semitones), not {self.transpose}")

    def frames(self, start: int, end: int) -> StageContext:
        """The context of the source's frames [start, end): what the stages see of a piece of the source.
        Set `source_f0` first when the piece's own median is not the one to use."""
        cut = lambda x: None if x is None else x[start:end]
        return dataclasses.replace(
            self,
            source_wav=self.source_wav[start * HOP_LENGTH : end * HOP_LENGTH],
            source_mel=self.source_mel[start:end],
            source_content=cut(self.source_content),
            source_speech=cut(self.source_speech),
            source_contour=cut(self.source_contour),
        )


@dataclass(frozen=True)
class Stage:
    """Base of every post-network stage: a frozen dataclass of settings that is also the function.

    Subclasses set `name` (its key in a model's config and the CLI's `--no-NAME`), `summary` (one line for
    help texts), `needs` (what `VoiceConverter` must gather: "f0" and "frames" of the target, "content" of the
    target's frames and of the source, which takes the model's content model), and
    implement `__call__(mel (T, 80), context) -> (T, 80)` in the normalised [0, 1] scale. A stage may also
    `finish` the vocoded waveform of its mel (the same context; (N,) -> (N,)), for what a mel cannot carry.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    needs: ClassVar[frozenset[str]] = frozenset()

    def __call__(self, mel: torch.Tensor, context: StageContext) -> torch.Tensor:
        raise NotImplementedError

    def finish(self, wav: np.ndarray, context: StageContext) -> np.ndarray:
        """The vocoded waveform (N,) of the mel this stage made in `context` -> (N,); most leave it as it is."""
        return wav

    def to_dict(self) -> dict:
        """{"name": ..., settings...}: how a model's config.json lists it."""
        return {"name": self.name, **dataclasses.asdict(self)}

    @classmethod
    def fields(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]
