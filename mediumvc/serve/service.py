"""What the web page and the HTTP API share: limits, the loaded models, and bounded conversion.

Uploaded bytes are written under a private temporary folder with names this module chooses
(`source`, `target-0`, ...), never with names a client sent, and the folder is removed when the
request ends, whatever happens.
"""

from __future__ import annotations

import io
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from mediumvc.audio import SAMPLE_RATE, load_audio
from mediumvc.errors import MediumVCError

BUNDLED = "bundled"


class Busy(MediumVCError):
    """Every conversion slot and queue place is taken: try again later (HTTP 503)."""


class TooLarge(MediumVCError):
    """An upload over the size limit (HTTP 413)."""


@dataclass
class ServeConfig:
    models: dict[str, str] = field(default_factory=dict)  # name -> model directory; BUNDLED = the packaged model
    default_model: str | None = None  # None = the first of `models`
    device: str = "auto"
    max_upload_mb: float = 20.0  # per request, all files together
    max_seconds: float = 120.0  # per recording
    max_targets: int = 8
    concurrency: int = 1  # conversions at a time (each uses the CPU threads torch is given)
    queue_size: int = 16  # requests allowed to wait for a slot; more are answered 'busy'

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


@dataclass
class Result:
    wav: np.ndarray  # (N,) float32 at 22,050 Hz
    source_mel: torch.Tensor  # (T, 80) normalised
    target_mel: torch.Tensor  # (T', 80) normalised, the first target
    output_mel: torch.Tensor  # (T, 80) normalised

    def pcm16(self) -> np.ndarray:
        return (np.clip(self.wav, -1.0, 1.0) * 32767).astype(np.int16)

    def wav_bytes(self) -> bytes:
        buf = io.BytesIO()
        sf.write(buf, self.wav, SAMPLE_RATE, subtype="PCM_16", format="WAV")
        return buf.getvalue()


class ConversionService:
    """Loads each (model, precision) once and runs at most `concurrency` conversions at a time, always on
    the same `concurrency` worker threads: every thread that runs the networks keeps some memory of its own
    (about 20 MB measured), so a burst served by many request threads would leave the server that much larger."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.default_model = config.default_model or self.model_names()[0]
        if self.default_model not in self.model_names():
            raise MediumVCError(f"default model {self.default_model!r} is not one of {self.model_names()}")
        self._converters: dict[tuple[str, str], object] = {}
        self._load_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(config.concurrency)
        self._workers = ThreadPoolExecutor(config.concurrency, thread_name_prefix="mediumvc-convert")
        self._waiting = 0
        self._count_lock = threading.Lock()
        self.served = 0
        self.failed = 0

    def model_names(self) -> list[str]:
        return list(self.config.models) or [BUNDLED]

    def converter(self, model: str, precision: str, vocoder: str = "default"):
        from mediumvc.converter import VoiceConverter
        from mediumvc.runtime import check_precision, resolve_device

        if model not in self.model_names():
            raise MediumVCError(f"unknown model {model!r}: choose one of {self.model_names()}")
        # "auto" is one of the two precisions
        key = (model, check_precision(precision, resolve_device(self.config.device)), vocoder)
        with self._load_lock:
            if key not in self._converters:
                path = self.config.models.get(model)
                self._converters[key] = VoiceConverter.from_pretrained(
                    None if path in (None, BUNDLED) else path,
                    device=self.config.device,
                    precision=precision,
                    max_seconds=self.config.max_seconds,
                    vocoder=vocoder,
                )
            return self._converters[key]

    @contextmanager
    def slot(self) -> Iterator[None]:
        """A conversion slot, waiting in a bounded queue; Busy when the queue is full."""
        with self._count_lock:
            if self._waiting >= self.config.queue_size + self.config.concurrency:
                raise Busy(f"the server is busy ({self.config.queue_size} requests already waiting): try again shortly")
            self._waiting += 1
        try:
            with self._slots:
                yield
        finally:
            with self._count_lock:
                self._waiting -= 1

    def _count(self, counter: str) -> None:
        with self._count_lock:
            setattr(self, counter, getattr(self, counter) + 1)

    def convert(
        self,
        source: Path,
        targets: list[Path],
        model: str | None = None,
        precision: str = "auto",
        progress: Callable[[float, str], None] | None = None,
        pitch: str = "target",
        transpose: float = 0.0,
        vocoder: str = "default",
    ) -> Result:
        """Convert files already on disk (server-chosen paths). Raises MediumVCError (and AudioError).
        `pitch` / `transpose`: as for `VoiceConverter.convert`; `vocoder`: "default" or "fast" (if the model
        ships one)."""
        if not targets:
            raise MediumVCError("give at least one target recording (the voice to convert to)")
        if len(targets) > self.config.max_targets:
            raise MediumVCError(f"at most {self.config.max_targets} target recordings per request, got {len(targets)}")
        with self.slot():
            pitch_options = {"pitch": pitch, "transpose": transpose}
            return self._workers.submit(
                self._convert, source, targets, (model, precision, vocoder), progress, pitch_options
            ).result()

    def _convert(self, source, targets, how, progress, pitch_options) -> Result:
        """how: (model, precision, vocoder)."""
        report = progress or (lambda fraction, what: None)
        model, precision, vocoder = how
        try:
            vc = self.converter(model or self.default_model, precision, vocoder)
            report(0.05, "reading the target recordings")
            limit = self.config.max_seconds
            target_wavs = [
                load_audio(p, name=f"target {i + 1}", min_samples=512, max_seconds=limit) for i, p in enumerate(targets)
            ]
            voice = vc.target_voice([(w, SAMPLE_RATE) for w in target_wavs])
            report(0.3, "converting")
            done = vc.conversion(source, voice, name="source", **pitch_options)
            mel, converted = done.source_mel, done.mel
            report(0.5, "vocoding")
            wav = vc.vocode(converted, lambda f: report(0.5 + 0.5 * f, "vocoding"), done.context)
            target_mel = vc.source_mel((target_wavs[0], SAMPLE_RATE), name="target 1")
        except BaseException:
            self._count("failed")
            raise
        self._count("served")
        return Result(wav, mel.cpu(), target_mel.cpu(), converted.cpu())


def public_message(error: Exception) -> str:
    """The error's message without the server's scratch paths (they mean nothing to a client)."""
    return re.sub(r"[^\s'\"]*mediumvc-serve-[^/\s]+/", "", str(error))


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A private folder for one request's uploads, removed afterwards whatever happens."""
    path = Path(tempfile.mkdtemp(prefix="mediumvc-serve-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def mel_figure(result: Result) -> np.ndarray:
    """Source, target and output mel-spectrograms side by side, as an RGB image (H, W, 3) uint8."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.2), dpi=80)
    for ax, (title, mel) in zip(
        axes, (("source", result.source_mel), ("target", result.target_mel), ("output", result.output_mel))
    ):
        ax.imshow(mel.T.numpy(), origin="lower", aspect="auto", vmin=0, vmax=1, cmap="magma")
        ax.set_title(f"{title} ({mel.shape[0] / (SAMPLE_RATE / 256):.1f} s)")
        ax.set_xlabel("frame")
        ax.set_yticks([])
    fig.tight_layout(rect=(0, 0, 1, 0.9))  # room above the titles for the page's label
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return image
