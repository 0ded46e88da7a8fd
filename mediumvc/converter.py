"""`VoiceConverter`: the Python API. Composes a speaker encoder, the networks and a vocoder,
each injected, along the one path audio -> mel -> SingleVC -> MediumVC -> mel [-> match] [-> detail] [-> pitch] -> audio.

    vc = VoiceConverter.from_pretrained("path/to/model")
    voice = vc.target_voice(["target1.wav", "target2.wav"])
    wav, sr = vc.convert("source.wav", voice)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from mediumvc.audio import (
    HOP_LENGTH,
    SAMPLE_RATE,
    AudioLike,
    MelSpectrogram,
    denormalize_mel,
    load_audio,
    PEAK,
    normalize_mel,
    peak_normalize,
)
from mediumvc.checkpoint import load_model_dir
from mediumvc.detail import DetailSettings, add_source_detail
from mediumvc.errors import CheckpointError
from mediumvc.matching import MatchSettings, match_target, reference_frames
from mediumvc.nets.mediumvc import MediumVC
from mediumvc.pitch import PitchSettings, impose_pitch, median_f0, track_f0, transpose_contour
from mediumvc.runtime import autocast, check_precision, resolve_device
from mediumvc.speaker import SpeakerEncoder, make_speaker_encoder
from mediumvc.speaker.base import MAX_REFERENCE_SECONDS, is_single_recording
from mediumvc.vocoder import HiFiGANGenerator, load_hifigan

BUNDLED_MODEL = Path(__file__).parent / "pretrained" / "default"
FRAMES_PER_SECOND = SAMPLE_RATE / HOP_LENGTH
# HiFi-GAN V1 sees about 13 mel frames to each side; vocoding pieces with 16 frames of context
# on both sides makes the joins match whole-utterance vocoding (tested: SNR > 30 dB).
VOCODER_CONTEXT_FRAMES = 16


def overlapping_windows(total: int, size: int, overlap: int) -> list[tuple[int, int]]:
    """[start, end) windows of `size` covering range(total), consecutive ones sharing `overlap`."""
    if total <= size:
        return [(0, total)]
    step = size - overlap
    starts = list(range(0, total - size, step)) + [total - size]
    return [(s, s + size) for s in starts]


def _blend_weights(length: int, ramp_in: int, ramp_out: int) -> torch.Tensor:
    """Trapezoid weights for cross-fading overlapping windows."""
    w = torch.ones(length)
    if ramp_in:
        w[:ramp_in] = torch.linspace(0, 1, ramp_in + 2)[1:-1]
    if ramp_out:
        w[length - ramp_out :] = torch.linspace(1, 0, ramp_out + 2)[1:-1]
    return w


class MelVocoder:
    """Audio <-> normalised mel: the mel front end (spec §4.1) and the HiFi-GAN vocoder, both
    bounded in memory for long inputs. `VoiceConverter` adds the networks in between; alone it
    is copy synthesis.

    Args:
        vocoder: HiFi-GAN generator for 22.05 kHz log-mels.
        device: where the vocoder runs.
        precision: "fp32" or "bf16" (autocast; fast on GPUs and on CPUs with AVX-512 BF16/AMX).
        vocoder_chunk_seconds: longer mels are vocoded in pieces of this length.
        max_seconds: longest source accepted (checked before decoding the file).
    """

    def __init__(self, vocoder: HiFiGANGenerator, device: str | torch.device = "cpu", precision: str = "fp32",
                 vocoder_chunk_seconds: float = 8.0, max_seconds: float = 7200.0) -> None:
        self.device = resolve_device(device)
        self.precision = check_precision(precision, self.device)
        self.vocoder = vocoder.eval().to(self.device)
        if self.device.type == "cpu":
            self.vocoder.use_2d_channels_last()  # about 1.6x faster with oneDNN on CPU
        self.mel = MelSpectrogram().to(self.device)
        self.vocoder_chunk_frames = max(32, int(vocoder_chunk_seconds * FRAMES_PER_SECOND))
        self.max_seconds = max_seconds

    def load_source(self, source: AudioLike, name: str | None = None) -> np.ndarray:
        """Source recording -> (N,) float32 at 22.05 kHz, peak-normalised to 0.95 (checked, one line on error)."""
        wav = load_audio(source, name=name, min_samples=HOP_LENGTH, max_seconds=self.max_seconds)
        wav *= PEAK / float(np.abs(wav).max())  # in place: an hour of audio is 300 MB
        return wav

    @torch.inference_mode()
    def wav_mel(self, wav: np.ndarray) -> torch.Tensor:
        """(N,) float32 at 22.05 kHz (as from `load_source`) -> normalised log-mel (T, 80), T = floor(N / 256)."""
        return normalize_mel(self.mel(torch.from_numpy(wav).to(self.device)))

    def source_mel(self, source: AudioLike, name: str | None = None) -> torch.Tensor:
        """Source recording -> normalised log-mel (T, 80), T = floor(N / 256) at 22.05 kHz."""
        return self.wav_mel(self.load_source(source, name=name))

    @torch.inference_mode()
    def vocode(self, mel: torch.Tensor, progress: Callable[[float], None] | None = None) -> np.ndarray:
        """Normalised mel (T, 80) -> waveform (T * 256,) float32 at 22.05 kHz.
        `progress(fraction)` is called after each piece (for progress bars on long inputs).

        Long mels are vocoded in pieces, each with enough context on both sides that the seams
        are inaudible; this also keeps HiFi-GAN fast (its cost per second grows with length).
        """
        log_mel = denormalize_mel(mel.to(self.device).float()).T.unsqueeze(0)  # (1, 80, T)
        total, size, context = log_mel.shape[-1], self.vocoder_chunk_frames, VOCODER_CONTEXT_FRAMES
        out = np.empty(total * HOP_LENGTH, dtype=np.float32)  # filled in place: no second copy of long outputs
        # Pieces of equal size (the last one moved back to end at T) keep oneDNN to a few shapes.
        starts = sorted({min(s, max(0, total - size)) for s in range(0, total, size)})
        for n, s in enumerate(starts, 1):
            e = min(total, s + size)
            a, b = max(0, s - context), min(total, e + context)
            with autocast(self.device, self.precision):
                wav = self.vocoder(log_mel[..., a:b])[0, 0].float()
            out[s * HOP_LENGTH : e * HOP_LENGTH] = wav[(s - a) * HOP_LENGTH : (e - a) * HOP_LENGTH].cpu().numpy()
            if progress is not None:
                progress(n / len(starts))
        return out


@dataclass(frozen=True)
class TargetVoice:
    """What the converter keeps of a target speaker.

    dvector: (dim,) unit speaker embedding.
    f0: median F0 (Hz) of the target's voiced speech, for models with a pitch stage; None = unknown
        (the pitch stage is then skipped and the network's own pitch is kept).
    frames: (U, 80) normalised mel frames of the recordings, for models with a target-matching stage;
        None = not kept (the stage is then skipped).
    """

    dvector: torch.Tensor
    f0: float | None = None
    frames: torch.Tensor | None = None


class VoiceConverter(MelVocoder):
    """Any-to-any voice conversion with MediumVC.

    Args:
        model: MediumVC (with its SingleVC) in eval mode.
        vocoder: HiFi-GAN generator for 22.05 kHz log-mels.
        speaker_encoder: the encoder the model was trained with.
        device: where the networks run.
        precision: "fp32" or "bf16" (autocast; fast on GPUs and on CPUs with AVX-512 BF16/AMX).
        chunk_seconds / vocoder_chunk_seconds: longer inputs are processed in overlapping windows
            of this length, so memory stays bounded (self-attention is quadratic in length).
        max_seconds: longest source accepted (checked before decoding the file).
        pitch: the pitch stage's settings (`mediumvc.pitch`), or None for the network's output as is.
        detail: the source-detail stage's settings (`mediumvc.detail`), or None.
        match: the target-matching stage's settings (`mediumvc.matching`), or None.
    """

    def __init__(
        self,
        model: MediumVC,
        vocoder: HiFiGANGenerator,
        speaker_encoder: SpeakerEncoder,
        device: str | torch.device = "cpu",
        precision: str = "fp32",
        chunk_seconds: float = 20.0,
        vocoder_chunk_seconds: float = 8.0,
        max_seconds: float = 7200.0,
        pitch: PitchSettings | None = None,
        detail: DetailSettings | None = None,
        match: MatchSettings | None = None,
    ) -> None:
        super().__init__(vocoder, device, precision, vocoder_chunk_seconds, max_seconds)
        self.pitch = pitch
        self.detail = detail
        self.match = match
        self.model = model.eval().to(self.device)
        self.speaker_encoder = speaker_encoder.to(self.device)
        self.chunk_frames = max(64, int(chunk_seconds * FRAMES_PER_SECOND))

    @classmethod
    def from_pretrained(
        cls, path: str | Path | None = None, device: str | torch.device = "auto", precision: str = "fp32",
        pitch: bool = True, detail: bool = True, match: bool = True, **kwargs
    ) -> "VoiceConverter":
        """Load a model directory (config.json + model.safetensors); None = the bundled model.

        pitch=False / detail=False / match=False leave out the model's pitch / source-detail / target-matching
        stage (if its config has one).
        """
        if path is None:
            if not (BUNDLED_MODEL / "config.json").is_file():
                raise CheckpointError(
                    "this version of mediumvc ships no pretrained model yet: pass a model directory with "
                    "--model (train one, or make a random one with `mediumvc create-model` to test the pipeline)"
                )
            path = BUNDLED_MODEL
        device = resolve_device(device)
        loaded = load_model_dir(path, device)
        config = loaded.config
        if config.vocoder == "hifigan-universal":
            vocoder = load_hifigan()
        else:
            vocoder = load_hifigan(Path(path) / config.vocoder)
        encoder = make_speaker_encoder(config.speaker_encoder, loaded.dvector, device)
        return cls(loaded.model, vocoder, encoder, device=device, precision=precision,
                   pitch=config.pitch if pitch else None, detail=config.detail if detail else None,
                   match=config.match if match else None, **kwargs)

    # -- the verbs: target_voice, convert
    #    (and source_mel -> convert_mel -> match_target -> add_detail -> shape_pitch -> vocode)

    def target_voice(self, recordings: AudioLike | Sequence[AudioLike]) -> TargetVoice:
        """Recordings of the target speaker -> their d-vector and what the model's stages need of them
        (over the first 2 minutes of each recording): with a pitch stage, the median F0 of their voiced
        speech; with a target-matching stage, their mel frames."""
        dvector = self.embed_speaker(recordings)
        if self.pitch is None and self.match is None:
            return TargetVoice(dvector)
        recordings = [recordings] if is_single_recording(recordings) else list(recordings)
        limit = int(MAX_REFERENCE_SECONDS * SAMPLE_RATE)
        contours, mels = [], []
        for r in recordings:  # one recording in memory at a time
            wav = peak_normalize(load_audio(r, min_samples=HOP_LENGTH)[:limit])  # as a source is
            if self.pitch is not None:
                contours.append(track_f0(wav))
            if self.match is not None:
                mels.append(self.wav_mel(wav))
        f0 = median_f0(np.concatenate(contours)) if contours else None
        return TargetVoice(dvector, f0, reference_frames(mels) if mels else None)

    def embed_speaker(self, recordings: AudioLike | Sequence[AudioLike]) -> torch.Tensor:
        """Recordings of the target speaker -> (256,) unit d-vector (the mean over recordings, re-normalised).

        Each recording: a path, a (samples, rate) tuple, or samples at 22.05 kHz (array or tensor).
        """
        return self.speaker_encoder.embed(recordings)

    @torch.inference_mode()
    def convert_mel(self, mel: torch.Tensor, speaker: torch.Tensor) -> torch.Tensor:
        """Normalised source mel (T, 80) + d-vector (256,) -> converted normalised mel (T, 80) in [0, 1].

        Inputs longer than `chunk_seconds` go through in overlapping windows that are cross-faded.
        """
        mel = mel.to(self.device).float()
        spk = speaker.to(self.device).float().unsqueeze(0)
        total = mel.shape[0]
        overlap = min(self.chunk_frames // 4, int(2 * FRAMES_PER_SECOND))
        windows = overlapping_windows(total, self.chunk_frames, overlap)
        out = torch.zeros(total, mel.shape[1], device=self.device)
        weight = torch.zeros(total, 1, device=self.device)
        for i, (s, e) in enumerate(windows):
            with autocast(self.device, self.precision):
                y = self.model(mel[s:e].unsqueeze(0), spk)[0].float()
            ramp_in = windows[i - 1][1] - s if i > 0 else 0
            ramp_out = e - windows[i + 1][0] if i + 1 < len(windows) else 0
            w = _blend_weights(e - s, ramp_in, ramp_out).to(self.device).unsqueeze(1)
            out[s:e] += y * w
            weight[s:e] += w
        return (out / weight).clamp(0.0, 1.0)

    def match_target(self, converted: torch.Tensor, frames: torch.Tensor | None) -> torch.Tensor:
        """The target-matching stage: the converted mel's (T, 80) slow part moved toward its nearest target
        frames (U, 80) (see `mediumvc.matching`). A no-op without one or without the target's frames."""
        return converted if self.match is None or frames is None else match_target(converted, frames, self.match)

    def add_detail(self, converted: torch.Tensor, source_mel: torch.Tensor) -> torch.Tensor:
        """The source-detail stage: the source mel's fast changes added to the converted mel, both (T, 80)
        (see `mediumvc.detail`). A no-op for a model without one."""
        return converted if self.detail is None else add_source_detail(converted, source_mel, self.detail)

    def shape_pitch(self, mel: torch.Tensor, source_wav: np.ndarray, target_f0: float | None) -> torch.Tensor:
        """The pitch stage: converted mel (T, 80) -> the same envelope over the harmonics of the source's
        F0 contour moved to `target_f0` (see `mediumvc.pitch`). A no-op without a pitch stage, a target
        F0, or a voiced source."""
        if self.pitch is None or target_f0 is None:
            return mel
        f0 = track_f0(source_wav)
        source_f0 = median_f0(f0)
        if source_f0 is None:
            return mel
        return impose_pitch(mel, transpose_contour(f0, source_f0, target_f0), self.pitch)

    def as_voice(self, target: "TargetVoice | torch.Tensor | AudioLike | Sequence[AudioLike]") -> TargetVoice:
        """A TargetVoice, a bare (dim,) d-vector (pitch unknown), or recordings of the target -> TargetVoice."""
        if isinstance(target, TargetVoice):
            return target
        if isinstance(target, torch.Tensor) and target.dim() == 1 and target.numel() == self.speaker_encoder.dim:
            return TargetVoice(target)
        return self.target_voice(target)

    def convert_to_mel(self, source: AudioLike, target, name: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Source + target (as for `convert`) -> (source mel, converted mel), both normalised (T, 80)."""
        voice = self.as_voice(target)
        wav = self.load_source(source, name=name)
        mel = self.wav_mel(wav)
        converted = self.match_target(self.convert_mel(mel, voice.dvector), voice.frames)
        return mel, self.shape_pitch(self.add_detail(converted, mel), wav, voice.f0)

    def convert(
        self, source: AudioLike, target: "TargetVoice | torch.Tensor | AudioLike | Sequence[AudioLike]", name: str | None = None
    ) -> tuple[np.ndarray, int]:
        """Speak the source's words in the target's voice.

        Args:
            source: what is said (path, (samples, rate), or samples at 22.05 kHz).
            target: a TargetVoice from `target_voice`, recordings of the target, or a bare (256,)
                d-vector from `embed_speaker` (then the pitch stage has no target F0 and is skipped).

        Returns:
            (waveform (floor(N / 256) * 256,) float32, 22050): the same length as the source to a hop.
        """
        return self.vocode(self.convert_to_mel(source, target, name=name)[1]), SAMPLE_RATE
