"""The mel front end every model here shares, and the mel-grid tools built on it.

HiFi-GAN's log-magnitude mel: 22.05 kHz, n_fft 1024, hop 256, window 1024, 80 Slaney mel bands 0-8 kHz,
natural log of the magnitude clamped at 1e-5. Frame t covers samples [256 t - 384, 256 t + 640) of the
reflect-padded signal, so a waveform of N samples has floor(N / 256) frames.
"""

from __future__ import annotations

from functools import lru_cache

import librosa
import numpy as np
import torch
from torch import nn

from mediumvc.audio import (
    F_MAX,
    F_MIN,
    HOP_LENGTH,
    LOG_FLOOR,
    N_FFT,
    N_MELS,
    PEAK,
    SAMPLE_RATE,
    WIN_LENGTH,
    AudioLike,
    format_seconds,
    load_audio,
)
from mediumvc.errors import AudioError

PAD = (N_FFT - HOP_LENGTH) // 2  # 384 samples of reflect padding on each side


@lru_cache(maxsize=1)
def mel_filterbank() -> np.ndarray:
    """(80, 513) float32 Slaney mel filters, 0-8 kHz (read-only)."""
    basis = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=F_MIN, fmax=F_MAX)
    basis.setflags(write=False)
    return basis


def num_frames(num_samples: int) -> int:
    """Mel frames for a waveform: floor(N / 256); the vocoder returns frames * 256 samples."""
    return num_samples // HOP_LENGTH


class MelSpectrogram(nn.Module):
    """The HiFi-GAN log-magnitude mel: waveform (..., N) -> log-mel (..., T, 80).

    Reflect-pad 384 on both sides, STFT (n_fft 1024, hop 256, periodic Hann, center=False),
    magnitude sqrt(re^2 + im^2 + 1e-9), Slaney mel filters 0-8 kHz, ln(max(mel, 1e-5)).
    T = floor(N / 256). Not normalised: see `normalize_mel`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("basis", torch.from_numpy(mel_filterbank().copy()), persistent=False)  # (80, 513)
        self.register_buffer("window", torch.hann_window(WIN_LENGTH), persistent=False)

    # Frames per STFT block: the complex spectrogram of a whole hour would need about 1.3 GB.
    block_frames = 4096

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        if wav.shape[-1] < HOP_LENGTH:
            raise AudioError(
                f"audio is too short ({format_seconds(wav.shape[-1] / SAMPLE_RATE)}): at least "
                f"{format_seconds(HOP_LENGTH / SAMPLE_RATE)} ({HOP_LENGTH} samples at {SAMPLE_RATE} Hz) is needed"
            )
        lead = wav.shape[:-1]
        wav = wav.reshape(-1, wav.shape[-1]).float()
        # torch's reflect pad needs N > 384; clips of 1-1.5 frames get zero padding instead.
        mode = "reflect" if wav.shape[-1] > PAD else "constant"
        wav = nn.functional.pad(wav.unsqueeze(1), (PAD, PAD), mode=mode).squeeze(1)
        frames = (wav.shape[-1] - N_FFT) // HOP_LENGTH + 1
        blocks = []
        for f0 in range(0, frames, self.block_frames):  # identical to one STFT, in bounded memory
            f1 = min(frames, f0 + self.block_frames)
            piece = wav[:, f0 * HOP_LENGTH : (f1 - 1) * HOP_LENGTH + N_FFT]
            spec = torch.stft(piece, N_FFT, HOP_LENGTH, WIN_LENGTH, self.window, center=False, return_complex=True)
            magnitude = torch.sqrt(spec.real.pow(2) + spec.imag.pow(2) + 1e-9)  # (B, 513, t)
            blocks.append(torch.matmul(self.basis, magnitude).clamp_min(1e-5).log())
        mel = torch.cat(blocks, dim=-1) if len(blocks) > 1 else blocks[0]
        return mel.transpose(1, 2).reshape(*lead, mel.shape[-1], N_MELS)


def normalize_mel(log_mel: torch.Tensor) -> torch.Tensor:
    """Log-mel -> the networks' [0, 1] scale: silence (ln 1e-5) -> 0, log-mel 0 -> 1 (may exceed 1)."""
    return 1.0 - log_mel / LOG_FLOOR


def denormalize_mel(norm_mel: torch.Tensor) -> torch.Tensor:
    """Inverse of `normalize_mel`."""
    return (norm_mel - 1.0) * -LOG_FLOOR


def framed(wav: np.ndarray) -> np.ndarray:
    """(N,) -> (N // 256, 1024) read-only frames on the mel's grid (a view of a padded copy)."""
    mode = "reflect" if len(wav) > PAD else "constant"
    padded = np.pad(wav.astype(np.float32), PAD, mode=mode)
    count = (len(padded) - N_FFT) // HOP_LENGTH + 1
    frames = np.lib.stride_tricks.as_strided(
        padded, shape=(count, N_FFT), strides=(HOP_LENGTH * padded.strides[0], padded.strides[0]), writeable=False
    )
    return frames[: len(wav) // HOP_LENGTH]


def fast_changes(mel: torch.Tensor, frames: int) -> torch.Tensor:
    """(..., T, 80) -> the same minus its centred moving average over `frames` frames (edges held)."""
    half = frames // 2
    flat = mel.reshape(-1, *mel.shape[-2:]).transpose(1, 2).float()  # (N, 80, T)
    smooth = nn.functional.avg_pool1d(nn.functional.pad(flat, (half, half), mode="replicate"), frames, stride=1)
    return mel - smooth.transpose(1, 2).reshape(mel.shape).to(mel.dtype)


class MelFrontEnd:
    """Recordings -> normalised mels, as every model here sees them.

    Args:
        device: where the mels are computed.
        max_seconds: longest source accepted (checked from the header, before decoding).
    """

    def __init__(self, device: torch.device, max_seconds: float = 7200.0) -> None:
        self.device = device
        self.max_seconds = max_seconds
        self.mel = MelSpectrogram().to(device)

    def load_source(self, source: AudioLike, name: str | None = None) -> np.ndarray:
        """Source recording -> (N,) float32 at 22.05 kHz, peak-normalised to 0.95 (checked, one line on error)."""
        wav = load_audio(source, name=name, min_samples=HOP_LENGTH, max_seconds=self.max_seconds)
        wav *= PEAK / float(np.abs(wav).max())  # in place: an hour of audio is 300 MB
        return wav

    @torch.inference_mode()
    def wav_mel(self, wav: np.ndarray) -> torch.Tensor:
        """(N,) float32 at 22.05 kHz (as from `load_source`) -> normalised log-mel (T, 80), T = N // 256."""
        return normalize_mel(self.mel(torch.from_numpy(wav).to(self.device)))

    def source_mel(self, source: AudioLike, name: str | None = None) -> torch.Tensor:
        """Source recording -> normalised log-mel (T, 80), T = N // 256 at 22.05 kHz."""
        return self.wav_mel(self.load_source(source, name=name))
