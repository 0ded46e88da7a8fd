"""`MelVocoder`: normalised mel -> waveform with a generator (`Vocoder`), in pieces for bounded memory."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from mediumvc.audio import HOP_LENGTH, SAMPLE_RATE
from mediumvc.mel import denormalize_mel
from mediumvc.runtime import autocast, check_precision, resolve_device
from mediumvc.vocoder.base import Vocoder


class MelVocoder:
    """Args:
    generator: a generator for 22.05 kHz log-mels (HiFi-GAN, or our fast `ISTFTVocoder`).
    device: where it runs.
    precision: "fp32" or "bf16" (autocast; fast on GPUs and on CPUs with AVX-512 BF16/AMX). Under bf16 it runs
        a copy of the generator whose convolutions and linear layers keep their weights in bf16, so autocast
        need not cast them on every call (the same results; a fifth off a streamed chunk's vocoding).
    chunk_seconds: longer mels are vocoded in pieces of this length, each with context on both sides.
    """

    def __init__(
        self,
        generator: Vocoder,
        device: str | torch.device = "cpu",
        precision: str = "fp32",
        chunk_seconds: float = 8.0,
    ) -> None:
        self.device = resolve_device(device)
        self.precision = check_precision(precision, self.device)
        self.generator = generator.eval().to(self.device)
        if self.device.type == "cpu":
            self.generator.for_cpu()
        self.chunk_frames = max(32, int(chunk_seconds * SAMPLE_RATE / HOP_LENGTH))
        self._bf16: Vocoder | None = None

    def running(self) -> Vocoder:
        """The generator for the current precision: under bf16, the copy with bf16 weights (made at the first bf16
        call: weights changed later are not seen by it)."""
        if self.precision == "fp32":
            return self.generator
        if self._bf16 is None:
            self._bf16 = copy.deepcopy(self.generator)
            for module in self._bf16.modules():  # what autocast would cast; norms, scales and buffers stay fp32
                if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d)):
                    module.to(torch.bfloat16)
        return self._bf16

    @torch.inference_mode()
    def span(self, mel: torch.Tensor, start: int = 0, end: int | None = None) -> np.ndarray:
        """Normalised mel (T, 80) vocoded in one piece -> the samples of its frames [start, end) ((end - start)
        * 256,): the streaming path vocodes a chunk with context on both sides and keeps the chunk."""
        log_mel = denormalize_mel(mel.to(self.device).float()).T.unsqueeze(0)
        end = len(mel) if end is None else min(end, len(mel))
        with autocast(self.device, self.precision):
            wav = self.running().region(log_mel, start, end)[0, 0].float()
        return wav.cpu().numpy()

    @torch.inference_mode()
    def __call__(
        self, mel: torch.Tensor, progress: Callable[[float], None] | None = None, chunk_frames: int | None = None
    ) -> np.ndarray:
        """Normalised mel (T, 80) -> waveform (T * 256,) float32 at 22.05 kHz.
        `progress(fraction)` is called after each piece (for progress bars on long inputs); `chunk_frames`
        overrides the piece length (shorter pieces: less memory, a little more time)."""
        log_mel = denormalize_mel(mel.to(self.device).float()).T.unsqueeze(0)  # (1, 80, T)
        generator = self.running()
        total, size, context = log_mel.shape[-1], chunk_frames or self.chunk_frames, generator.context_frames
        out = np.empty(total * HOP_LENGTH, dtype=np.float32)  # filled in place: no second copy of long outputs
        # Pieces of equal size (the last one moved back to end at T) keep oneDNN to a few shapes.
        starts = sorted({min(s, max(0, total - size)) for s in range(0, total, size)})
        for n, s in enumerate(starts, 1):
            e = min(total, s + size)
            a, b = max(0, s - context), min(total, e + context)
            with autocast(self.device, self.precision):
                wav = generator.region(log_mel[..., a:b], s - a, e - a)[0, 0].float()
            out[s * HOP_LENGTH : e * HOP_LENGTH] = wav.cpu().numpy()
            if progress is not None:
                progress(n / len(starts))
        return out
