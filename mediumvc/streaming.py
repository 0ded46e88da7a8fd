"""Streaming conversion: source audio in as it arrives, converted audio out chunk by chunk.

The offline path sees the whole source at once; here each step sees a sliding window: `context` of past audio,
the `chunk` to emit and a `lookahead` of future frames. The window goes through the same front end, networks
and stages as a whole file (their per-utterance statistics - the peak normalisation, instance norms, band means -
become the window's, and the source's F0 median a running one), the chunk's frames are vocoded with mel context on
both sides (the vocoder's own `context_frames` before them, the lookahead after them: a lookahead of at least
`context_frames` makes each chunk's samples a whole file's), and consecutive chunks are cross-faded over one hop.
The algorithmic latency is chunk + lookahead frames: the lookahead also covers the STFT's reach into the future
(384 samples), so the chunk's mel frames are exact.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from mediumvc.audio import HOP_LENGTH, PEAK, SAMPLE_RATE
from mediumvc.errors import MediumVCError
from mediumvc.f0 import analyse_frames, voicing
from mediumvc.mel import framed
from mediumvc.runtime import single_threaded_blas
from mediumvc.voice import TargetVoice

STAGE_CONTEXT = 12  # frames the stages see before the vocoder's context (their moving averages reach 6 frames back)
CROSSFADE = HOP_LENGTH  # samples shared by consecutive chunks: one frame
MIN_PEAK = 0.05  # a window's peak normalisation never amplifies more than 0.95 / 0.05 (26 dB)


@dataclass(frozen=True)
class StreamSettings:
    """chunk: frames emitted per step (256 samples each); lookahead: future frames each step waits for;
    context_seconds: past audio the networks and stages see."""

    chunk: int = 8
    lookahead: int = 9
    context_seconds: float = 1.5

    def __post_init__(self) -> None:
        if self.chunk < 1 or not 2 <= self.lookahead <= 64 or not 0.25 <= self.context_seconds <= 30:
            raise MediumVCError(
                f"stream settings: chunk >= 1 frame, lookahead 2..64 frames and context 0.25..30 s, got {self}"
            )

    @property
    def latency_seconds(self) -> float:
        """Algorithmic latency: a sample leaves at most chunk + lookahead frames after it arrived."""
        return (self.chunk + self.lookahead) * HOP_LENGTH / SAMPLE_RATE

    @property
    def chunk_seconds(self) -> float:
        return self.chunk * HOP_LENGTH / SAMPLE_RATE


class StreamingConversion:
    """One stream: `push(samples)` returns the converted audio that is ready, `finish()` the rest.

    Args:
        converter: the VoiceConverter.
        voice: the target (from `converter.target_voice`).
        settings: chunk, lookahead and context.
        pitch / transpose: as for `VoiceConverter.convert`.
    The output has floor(N / 256) * 256 samples for N input samples, like the offline path.
    `compute_seconds` lists the time each step took.
    """

    def __init__(self, converter, voice: TargetVoice, settings: StreamSettings, pitch="target", transpose=0.0):
        self.vc, self.voice, self.settings = converter, voice, settings
        self.options = {"pitch": pitch, "transpose": transpose}
        self.context = int(settings.context_seconds * SAMPLE_RATE / HOP_LENGTH)
        # Mel frames vocoded before each chunk: enough that the chunk's samples come out as a whole file's would.
        self.vocoder_context = min(converter.vocoder.generator.context_frames, self.context - STAGE_CONTEXT)
        # The input kept, from the next window's first frame on. It starts as `context` frames of silence, so
        # every window has the same length (one set of kernel shapes from the first step).
        self.audio = np.zeros(self.context * HOP_LENGTH, np.float32)
        self.offset = -self.context  # the input frame `audio` starts at
        self.emitted = 0  # frames emitted so far
        self.voiced_f0: list[np.ndarray] = []
        # YIN's per-frame analysis of the input frames [analysed_from, analysed_from + len) that lie wholly inside
        # the input seen so far: later windows reuse it, so each step analyses only its new frames.
        self.analysed_from = self.offset
        self.analysed = np.zeros((3, 0))
        self.tail = np.zeros(0, np.float32)  # the previous chunk's cross-fade samples
        self.compute_seconds: list[float] = []

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Mono float32 samples at 22.05 kHz -> the converted samples ready now (a multiple of the chunk)."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        if samples.size:
            self.audio = np.concatenate([self.audio, samples])
        out = []
        s = self.settings
        while self.frames_available() >= self.emitted + s.chunk + s.lookahead:
            out.append(self.step(self.emitted + s.chunk, self.emitted + s.chunk + s.lookahead))
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def finish(self) -> np.ndarray:
        """The converted samples of the frames still held (no lookahead is left to wait for)."""
        end = self.frames_available()
        if end <= self.emitted:
            return np.zeros(0, np.float32)
        return self.step(end, end, final=True)

    def falling_behind(self, steps: int = 10) -> bool:
        """Whether the last `steps` steps (the first, which builds kernels, aside) took longer than the chunk they
        emitted, at the median: a live stream then lags further and further."""
        recent = self.compute_seconds[1:][-steps:]
        return len(recent) == steps and float(np.median(recent)) > self.settings.chunk_seconds

    def frames_available(self) -> int:
        return self.offset + len(self.audio) // HOP_LENGTH

    def step(self, until: int, window_end: int, final: bool = False) -> np.ndarray:
        """Emit frames [emitted, until), seeing input frames up to `window_end`."""
        started = time.perf_counter()
        with single_threaded_blas():
            out = self.convert_window(until, window_end, final)
        self.emitted = until
        self.drop_old(until)
        self.compute_seconds.append(time.perf_counter() - started)
        return out

    def convert_window(self, until: int, window_end: int, final: bool) -> np.ndarray:
        start = self.emitted - self.context
        wav = self.audio[(start - self.offset) * HOP_LENGTH : (window_end - self.offset) * HOP_LENGTH]
        # Each window peak-normalised on its own, as a whole file is: a running peak (unknown at the start, so early
        # chunks came out too loud) cost 0.09 WER on 5 pairs.
        scale = PEAK / max(float(np.abs(wav).max()), MIN_PEAK)
        contour = self.contour(wav, start, scale)
        wav = wav * scale
        mel = self.vc.front_end.wav_mel(wav)
        first = self.context  # the chunk's first frame within the window
        source_f0 = self.running_f0(contour[first : until - start])
        context = self.vc.stage_context(
            wav, mel, self.voice, source_f0=source_f0, source_contour=contour, finished=False, **self.options
        )
        converted = self.vc.convert_mel(mel, self.voice.dvector)
        # The networks see the whole window; the stages and the vocoder only what the chunk needs.
        a = first - self.vocoder_context - STAGE_CONTEXT
        staged = self.vc.run_stages(converted[a:], context.frames(a, len(mel)))
        length = until - self.emitted  # frames emitted now; the frame after them is the next cross-fade
        end = self.vocoder_context + length + CROSSFADE // HOP_LENGTH
        piece = self.vc.vocoder.span(staged[STAGE_CONTEXT:], self.vocoder_context, end)
        return self.crossfade(piece, length * HOP_LENGTH, final)

    def contour(self, wav: np.ndarray, start: int, scale: float) -> np.ndarray:
        """F0 per frame of the window `wav` (its frames from `start`, before scaling by `scale`), as `track_f0`
        gives it but near the start, where the first two frames are analysed on the input before the window rather
        than on padding."""
        frames = framed(wav)
        known = self.analysed_from + self.analysed.shape[1] - start  # window frames analysed before
        fresh = np.stack(analyse_frames(frames[known:]))
        # Frames whose 1024 samples lie inside the window (all but the last two) are final: keep them.
        final = len(frames) - 2 - known
        self.analysed = np.concatenate([self.analysed, fresh[:, :final]], axis=1)
        window = np.concatenate([self.analysed[:, start - self.analysed_from :], fresh[:, final:]], axis=1)
        f0, aper, rms = window
        return voicing(f0, aper, rms * scale)

    def running_f0(self, new: np.ndarray) -> float | None:
        """Median F0 of the source's voiced frames so far, with the contour of the frames emitted now."""
        self.voiced_f0.append(new[new > 0])
        voiced = np.concatenate(self.voiced_f0)
        return float(np.median(voiced)) if len(voiced) >= 10 else None

    def crossfade(self, piece: np.ndarray, length: int, final: bool) -> np.ndarray:
        """The first `length` samples of `piece`, the previous tail faded into their start; keeps the next tail."""
        out = piece[:length].copy()
        n = min(len(self.tail), len(out))
        if n:
            fade = np.linspace(0.0, 1.0, n + 2, dtype=np.float32)[1:-1]
            out[:n] = self.tail[:n] * (1 - fade) + out[:n] * fade
        self.tail = np.zeros(0, np.float32) if final else piece[length : length + CROSSFADE].copy()
        return np.clip(out, -1.0, 1.0)

    def drop_old(self, until: int) -> None:
        """Forget input older than the next window's start."""
        keep_from = until - self.context  # the next step starts its window there
        drop = keep_from - self.offset
        if drop > 0:
            self.audio = self.audio[drop * HOP_LENGTH :]
            self.offset = keep_from
        if keep_from > self.analysed_from:
            self.analysed = self.analysed[:, keep_from - self.analysed_from :]
            self.analysed_from = keep_from


def stream(
    converter, chunks: Iterable[np.ndarray], voice: TargetVoice, settings: StreamSettings, **pitch
) -> Iterator[np.ndarray]:
    """Generator: converted audio for each incoming chunk of samples (empty arrays while waiting), then the rest."""
    conversion = StreamingConversion(converter, voice, settings, **pitch)
    for samples in chunks:
        yield conversion.push(samples)
    yield conversion.finish()


def simulate(
    converter, wav: np.ndarray, voice: TargetVoice, settings: StreamSettings, **pitch
) -> tuple[np.ndarray, list[float]]:
    """Feed `wav` in chunk-sized pieces as a microphone would: -> (the streamed output, compute seconds per step)."""
    conversion = StreamingConversion(converter, voice, settings, **pitch)
    size = settings.chunk * HOP_LENGTH
    out = [conversion.push(wav[i : i + size]) for i in range(0, len(wav), size)]
    out.append(conversion.finish())
    return np.concatenate(out), conversion.compute_seconds
