"""Our own d-vector: its wav2mel front end, the attentive-pooled LSTM, and the
windowed utterance embedding. Trained with `GE2ELoss` (mediumvc.speaker.ge2e).

wav2mel is rebuilt natively, without torchaudio/sox: 16 kHz, peak to -3 dBFS,
silence removal, 40 log-mels (power, 25 ms window, 10 ms hop, HTK scale, 50-8000 Hz), ln clamp 1e-9.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mediumvc.errors import AudioError
from mediumvc.speaker.base import SpeakerEncoder


@dataclass(frozen=True)
class DVectorConfig:
    n_mels: int = 40
    hidden: int = 256
    layers: int = 3
    dim: int = 256
    seg_len: int = 160  # frames per window (1.6 s)
    sample_rate: int = 16000
    norm_db: float = -3.0
    silence_threshold: float = 0.01  # 1 % of full scale
    silence_seconds: float = 0.1
    f_min: float = 50.0
    window_ms: float = 25.0
    hop_ms: float = 10.0


def remove_silence(wav: np.ndarray, sr: int, threshold: float, min_seconds: float) -> np.ndarray:
    """Like sox `silence 1 0.1 1% -1 0.1 1%`: drop everything before the first 0.1 s above the
    threshold, and every stretch of >= 0.1 s below it. Loudness is a 20 ms moving RMS (sox's window)."""
    win = max(1, int(0.02 * sr))
    power = np.convolve(wav.astype(np.float64) ** 2, np.ones(win) / win, mode="same")
    loud = np.sqrt(power) >= threshold
    min_len = int(min_seconds * sr)
    keep = np.ones_like(loud)
    # run boundaries of the loud/quiet mask
    change = np.flatnonzero(np.diff(loud.astype(np.int8))) + 1
    starts, ends = np.r_[0, change], np.r_[change, len(loud)]
    seen_speech = False
    for s, e in zip(starts, ends):
        if loud[s]:
            seen_speech = seen_speech or (e - s) >= min_len
            if not seen_speech:
                keep[s:e] = False  # short blips before the first real speech are trimmed too
        elif (e - s) >= min_len or not seen_speech:
            keep[s:e] = False
    return wav[keep]


class Wav2Mel(nn.Module):
    """Mono float32 waveform at 16 kHz (N,) -> log-mel (T, 40) at 100 frames/s."""

    def __init__(self, config: DVectorConfig = DVectorConfig()) -> None:
        super().__init__()
        c = self.config = config
        self.n_fft = int(c.sample_rate * c.window_ms / 1000)
        self.hop = int(c.sample_rate * c.hop_ms / 1000)
        basis = librosa.filters.mel(
            sr=c.sample_rate,
            n_fft=self.n_fft,
            n_mels=c.n_mels,
            fmin=c.f_min,
            fmax=c.sample_rate / 2,
            htk=True,
            norm=None,
        )
        self.register_buffer("basis", torch.from_numpy(basis).float(), persistent=False)
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)

    def preprocess(self, wav: np.ndarray, label: str = "audio") -> np.ndarray:
        """Peak to -3 dBFS, then remove silence. Raises AudioError if nothing is left."""
        c = self.config
        peak = float(np.max(np.abs(wav))) if len(wav) else 0.0
        if peak == 0:
            raise AudioError(f"{label} is silent")
        wav = wav * (10 ** (c.norm_db / 20) / peak)
        speech = remove_silence(wav, c.sample_rate, c.silence_threshold, c.silence_seconds)
        if len(speech) < self.n_fft:
            raise AudioError(f"{label}: no speech above 1 % of full scale was found")
        return speech.astype(np.float32)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(
            wav.float(), self.n_fft, self.hop, window=self.window, center=True, pad_mode="reflect", return_complex=True
        )
        power = spec.real.pow(2) + spec.imag.pow(2)
        return torch.matmul(self.basis, power).clamp_min(1e-9).log().transpose(-1, -2)


class DVector(nn.Module):
    """Attentive-pooled LSTM d-vector: log-mels (B, T, 40) -> (B, 256) unit vectors. About 1.42 M parameters."""

    def __init__(self, config: DVectorConfig = DVectorConfig()) -> None:
        super().__init__()
        c = self.config = config
        self.lstm = nn.LSTM(c.n_mels, c.hidden, c.layers, batch_first=True)
        self.embedding = nn.Linear(c.hidden, c.dim)
        self.attention = nn.Linear(c.dim, 1)

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        frames = torch.tanh(self.embedding(self.lstm(mels)[0]))  # (B, T, dim)
        weights = torch.softmax(self.attention(frames), dim=1)  # (B, T, 1)
        return F.normalize((weights * frames).sum(dim=1), dim=-1)

    def embed_utterance(self, mel: torch.Tensor) -> torch.Tensor:
        """(T, 40) -> (dim,). Longer than one window: zero-pad to a multiple of seg_len/2, embed
        160-frame windows with 50 % overlap, average and re-normalise (the fixed upstream behaviour)."""
        seg, hop = self.config.seg_len, self.config.seg_len // 2
        if mel.shape[0] <= seg:
            return self(mel.unsqueeze(0))[0]
        mel = F.pad(mel, (0, 0, 0, (-mel.shape[0]) % hop))
        windows = mel.unfold(0, seg, hop).transpose(1, 2)  # (W, seg, 40)
        return F.normalize(self(windows).mean(0), dim=0)


class DVectorEncoder(SpeakerEncoder):
    """A trained `DVector` behind the SpeakerEncoder interface."""

    name = "dvector"

    def __init__(self, model: DVector, device: str | torch.device = "cpu") -> None:
        self.model = model.eval().to(device)
        self.wav2mel = Wav2Mel(model.config).to(device)
        self.sample_rate = model.config.sample_rate
        self.dim = model.config.dim
        self.device = torch.device(device)

    def to(self, device: str | torch.device) -> DVectorEncoder:
        self.device = torch.device(device)
        self.model.to(device)
        self.wav2mel.to(device)
        return self

    def embed_waveform(self, wav: np.ndarray, label: str) -> torch.Tensor:
        speech = self.wav2mel.preprocess(wav, label)
        with torch.inference_mode():
            mel = self.wav2mel(torch.from_numpy(speech).to(self.device))
            return self.model.embed_utterance(mel).float().cpu()
