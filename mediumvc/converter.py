"""`VoiceConverter`: the Python API. A mel front end, the networks, the post-network stages and a vocoder,
each injected, along the one path audio -> mel -> SingleVC -> MediumVC -> mel -> stages -> vocoder -> audio.

    vc = VoiceConverter.from_pretrained()            # the bundled model, or a model directory
    voice = vc.target_voice(["target1.wav", "target2.wav"])
    wav, sr = vc.convert("source.wav", voice)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from mediumvc.audio import HOP_LENGTH, SAMPLE_RATE, AudioLike, load_audio, peak_normalize
from mediumvc.checkpoint import load_model_dir
from mediumvc.content.model import ContentModel
from mediumvc.errors import CheckpointError, MediumVCError
from mediumvc.f0 import F0_MIN, source_contour, track_f0, voice_f0
from mediumvc.mel import MelFrontEnd
from mediumvc.nets.mediumvc import MediumVC
from mediumvc.runtime import autocast, check_precision, resolve_device, single_threaded_blas
from mediumvc.speaker import SpeakerEncoder, make_speaker_encoder
from mediumvc.speaker.base import MAX_REFERENCE_SECONDS, is_single_recording
from mediumvc.stages import STAGES, Stage, StageContext
from mediumvc.stages.match import reference_frames
from mediumvc.vocoder import MelVocoder, Vocoder, load_hifigan
from mediumvc.voice import TargetVoice

if TYPE_CHECKING:
    from mediumvc.streaming import StreamSettings

BUNDLED_MODEL = Path(__file__).parent / "pretrained" / "default"
VOCODERS = ("default", "fast")  # the model directory's vocoder, or the fast one it ships
FRAMES_PER_SECOND = SAMPLE_RATE / HOP_LENGTH
Target = TargetVoice | torch.Tensor | AudioLike | Sequence[AudioLike]
Progress = Callable[[float], None]


@dataclass(frozen=True)
class Conversion:
    """A source converted up to the vocoder: its mel (T, 80), the converted mel after the stages (T, 80), both
    normalised, and the stages' context, which `VoiceConverter.vocode` needs to finish the waveform."""

    source_mel: torch.Tensor
    mel: torch.Tensor
    context: StageContext


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


class VoiceConverter:
    """Any-to-any voice conversion with MediumVC.

    Args:
        model: MediumVC (with its SingleVC) in eval mode.
        vocoder: a generator for 22.05 kHz log-mels (`mediumvc.vocoder`).
        speaker_encoder: the encoder the model was trained with.
        device: where everything runs.
        precision: "auto" (bf16 where the device computes it natively: GPUs, CPUs with AVX-512 BF16 or AMX;
            fp32 elsewhere), "fp32" or "bf16" (autocast).
        chunk_seconds / vocoder_chunk_seconds: longer inputs are processed in overlapping windows of this
            length, so memory stays bounded (self-attention is quadratic in length).
        max_seconds: longest source accepted (checked before decoding the file).
        stages: post-network stages (`mediumvc.stages`), applied in order to the networks' mel.
        content_model: the content model of the model directory (`mediumvc.content`), for stages that match
            by content; None when no stage needs it.
    """

    def __init__(
        self,
        model: MediumVC,
        vocoder: Vocoder,
        speaker_encoder: SpeakerEncoder,
        device: str | torch.device = "cpu",
        precision: str = "auto",
        chunk_seconds: float = 20.0,
        vocoder_chunk_seconds: float = 8.0,
        max_seconds: float = 7200.0,
        stages: Sequence[Stage] = (),
        content_model: ContentModel | None = None,
    ) -> None:
        self.device = resolve_device(device)
        self.front_end = MelFrontEnd(self.device, max_seconds)
        self.vocoder = MelVocoder(vocoder, self.device, precision, vocoder_chunk_seconds)
        self.model = model.eval().to(self.device)
        self.speaker_encoder = speaker_encoder.to(self.device)
        self.stages = tuple(stages)
        if "content" in self.needs and content_model is None:
            raise MediumVCError(
                "a stage matches by content but the model has no content model: export the model with "
                "--content-model DIR, or set the match stage's content share to 0"
            )
        self.content_model = content_model.eval().to(self.device) if content_model is not None else None
        self.chunk_frames = max(64, int(chunk_seconds * FRAMES_PER_SECOND))

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path | None = None,
        device: str | torch.device = "auto",
        precision: str = "auto",
        without: Iterable[str] = (),
        vocoder: str = "default",
        **kwargs,
    ) -> VoiceConverter:
        """Load a model directory (config.json + model.safetensors); None = the bundled model.

        without: names of the model's post-network stages to leave out (e.g. ("pitch",)).
        vocoder: "default" (the directory's `vocoder`, HiFi-GAN V1 unless it names another) or "fast" (the fast
            vocoder it ships, if it ships one).
        """
        without = set(without)
        unknown = sorted(without - set(STAGES))
        if unknown:
            raise MediumVCError(f"unknown stage(s) {unknown}: the stages are {sorted(STAGES)}")
        if path is None:
            if not (BUNDLED_MODEL / "config.json").is_file():
                raise CheckpointError(
                    "this version of mediumvc ships no pretrained model: pass a model directory with --model "
                    "(train one, or make a random one with `mediumvc create-model` to test the pipeline)"
                )
            path = BUNDLED_MODEL
        if vocoder not in VOCODERS:
            raise MediumVCError(f"unknown vocoder {vocoder!r}: choose one of {', '.join(VOCODERS)}")
        device = resolve_device(device)
        loaded = load_model_dir(path, device)
        config = loaded.config
        if vocoder == "fast":
            if loaded.fast_vocoder is None:
                raise MediumVCError(
                    f"the model directory {path} ships no fast vocoder: use the default vocoder, or export the model "
                    "with --fast-vocoder DIR"
                )
            generator = loaded.fast_vocoder
        elif config.vocoder == "hifigan-universal":
            generator = load_hifigan()
        else:
            generator = load_hifigan(Path(path) / config.vocoder)
        encoder = make_speaker_encoder(config.speaker_encoder, loaded.dvector, device)
        stages = [stage for stage in config.stages if stage.name not in without]
        return cls(
            loaded.model,
            generator,
            encoder,
            device=device,
            precision=precision,
            stages=stages,
            content_model=loaded.content,
            **kwargs,
        )

    @property
    def needs(self) -> frozenset[str]:
        """What the stages need gathered: "f0" and "frames" of the target, "content" (see `Stage`)."""
        return frozenset().union(*(stage.needs for stage in self.stages))

    @property
    def precision(self) -> str:
        """ "fp32" or "bf16" ("auto" resolved), for the networks and the vocoder alike."""
        return self.vocoder.precision

    @precision.setter
    def precision(self, value: str) -> None:
        self.vocoder.precision = check_precision(value, self.device)

    def stage(self, name: str) -> Stage | None:
        """This converter's stage of that name, or None."""
        return next((stage for stage in self.stages if stage.name == name), None)

    # -- the verbs: target_voice, convert
    #    (and source_mel -> convert_mel -> run_stages -> vocode)

    def target_voice(self, recordings: AudioLike | Sequence[AudioLike]) -> TargetVoice:
        """Recordings of the target speaker -> their d-vector and what the stages need of them (over the
        first 2 minutes of each recording): the median F0 of their voiced speech, their mel frames (with
        content: their speech frames and those frames' content embeddings). With a content model, the F0 is
        taken from speech frames only (not from music or noise in the recording)."""
        dvector = self.embed_speaker(recordings)
        needs = self.needs
        if not needs:
            return TargetVoice(dvector)
        recordings = [recordings] if is_single_recording(recordings) else list(recordings)
        limit = int(MAX_REFERENCE_SECONDS * SAMPLE_RATE)
        contours, mels, contents = [], [], []
        load = lambda r: peak_normalize(load_audio(r, min_samples=HOP_LENGTH)[:limit])  # as a source is
        for r in recordings:  # one recording in memory at a time
            wav = load(r)
            mel = self.front_end.wav_mel(wav) if "frames" in needs or self.content_model is not None else None
            embedding, speech = self.content_model.features(mel) if self.content_model is not None else (None, None)
            if "f0" in needs:
                contours.append(self._speech_contour(wav, speech))
            if "frames" in needs:
                if "content" in needs:
                    mel, embedding = mel[speech], embedding[speech]
                    contents.append(embedding)
                mels.append(mel)
        retrack = lambda f0_min: [self._speech_contour(load(r), None, f0_min) for r in recordings]
        f0 = voice_f0(contours, retrack) if "f0" in needs else None
        frames = reference_frames(mels) if sum(len(m) for m in mels) else None  # None: no speech frame found
        content = reference_frames(contents) if frames is not None and contents else None
        return TargetVoice(dvector, f0, frames, content)

    def _speech_contour(self, wav: np.ndarray, speech: torch.Tensor | None, f0_min: float = F0_MIN) -> np.ndarray:
        """F0 of a target recording's speech frames (`speech`: the content model's mask; None = found here when
        the model has a content model, else every frame)."""
        if speech is None and self.content_model is not None:
            speech = self.content_model.features(self.front_end.wav_mel(wav))[1]
        contour = track_f0(wav, f0_min=f0_min)
        return contour if speech is None else contour[speech.cpu().numpy()]

    def embed_speaker(self, recordings: AudioLike | Sequence[AudioLike]) -> torch.Tensor:
        """Recordings of the target speaker -> (256,) unit d-vector (the mean over recordings, re-normalised).

        Each recording: a path, a (samples, rate) tuple, or samples at 22.05 kHz (array or tensor).
        """
        return self.speaker_encoder.embed(recordings)

    def source_mel(self, source: AudioLike, name: str | None = None) -> torch.Tensor:
        """Source recording -> normalised log-mel (T, 80), T = N // 256 at 22.05 kHz."""
        return self.front_end.source_mel(source, name=name)

    @torch.inference_mode()
    def convert_mel(self, mel: torch.Tensor, speaker: torch.Tensor, progress: Progress | None = None) -> torch.Tensor:
        """The networks: normalised source mel (T, 80) + d-vector (256,) -> converted normalised mel (T, 80) in [0, 1].

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
            if progress is not None:
                progress((i + 1) / len(windows))
        return (out / weight).clamp(0.0, 1.0)

    def stage_context(self, wav: np.ndarray, mel: torch.Tensor, voice: TargetVoice, **options) -> StageContext:
        """What the stages see of a source `wav` (N,) with mel (T, 80) and the target: `StageContext` with the
        source's content embeddings when a stage needs them; `options` are StageContext's other fields."""
        if "f0" in self.needs and "source_contour" not in options:  # tracked once for the mel and the waveform
            options["source_contour"] = source_contour(wav)
        if "content" not in self.needs:
            return StageContext(wav, mel, voice, **options)
        embedding, speech = self.content_model.features(mel)
        return StageContext(wav, mel, voice, source_content=embedding, source_speech=speech, **options)

    def run_stages(self, converted: torch.Tensor, context: StageContext) -> torch.Tensor:
        """The post-network stages, in order: converted mel (T, 80) -> mel (T, 80)."""
        for stage in self.stages:
            converted = stage(converted, context)
        return converted

    def finish(self, wav: np.ndarray, context: StageContext) -> np.ndarray:
        """What the stages do to the vocoded waveform (N,) of their mel (e.g. the pitch stage lands its pitch)."""
        for stage in self.stages:
            wav = stage.finish(wav, context)
        return wav

    def vocode(
        self,
        mel: torch.Tensor,
        progress: Callable[[float], None] | None = None,
        context: StageContext | None = None,
    ) -> np.ndarray:
        """Normalised mel (T, 80) -> waveform (T * 256,) float32 at 22.05 kHz (see `MelVocoder`); with the
        `context` the stages made the mel in, they finish the waveform too."""
        wav = self.vocoder(mel, progress)
        return wav if context is None else self.finish(wav, context)

    def as_voice(self, target: Target) -> TargetVoice:
        """A TargetVoice, a bare (dim,) d-vector (no F0 or frames: those stages are skipped), or recordings."""
        if isinstance(target, TargetVoice):
            return target
        if isinstance(target, torch.Tensor) and target.dim() == 1 and target.numel() == self.speaker_encoder.dim:
            return TargetVoice(target)
        return self.target_voice(target)

    def stream(
        self,
        chunks: Iterable[np.ndarray],
        target: Target,
        settings: StreamSettings | None = None,
        pitch: str = "target",
        transpose: float = 0.0,
    ) -> Iterator[np.ndarray]:
        """Live conversion: mono float32 chunks at 22.05 kHz, of any size, as they arrive -> converted audio as it
        is ready (a multiple of `settings.chunk` frames each time, possibly empty), and the rest once `chunks` ends.

        The output lags the input by `settings.latency_seconds` (chunk + lookahead) plus the compute time of a step;
        see `mediumvc.streaming`. Target, pitch and transpose as for `convert`.
        """
        from mediumvc.streaming import StreamSettings, stream

        return stream(
            self, chunks, self.as_voice(target), settings or StreamSettings(), pitch=pitch, transpose=transpose
        )

    def conversion(
        self,
        source: AudioLike,
        target: Target,
        name: str | None = None,
        progress: Progress | None = None,
        pitch: str = "target",
        transpose: float = 0.0,
    ) -> Conversion:
        """Source + target (as for `convert`) -> everything up to the vocoder (see `Conversion`)."""
        voice = self.as_voice(target)
        wav = self.front_end.load_source(source, name=name)
        mel = self.front_end.wav_mel(wav)
        context = self.stage_context(wav, mel, voice, pitch=pitch, transpose=transpose)  # checks the options first
        converted = self.convert_mel(mel, voice.dvector, progress)
        return Conversion(mel, self.run_stages(converted, context), context)

    def source_and_converted_mels(
        self,
        source: AudioLike,
        target: Target,
        name: str | None = None,
        progress: Progress | None = None,
        pitch: str = "target",
        transpose: float = 0.0,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Source + target (as for `convert`) -> (source mel, converted mel after the stages), both normalised (T, 80)."""
        done = self.conversion(source, target, name=name, progress=progress, pitch=pitch, transpose=transpose)
        return done.source_mel, done.mel

    def convert(
        self,
        source: AudioLike,
        target: Target,
        name: str | None = None,
        progress: Progress | None = None,
        pitch: str = "target",
        transpose: float = 0.0,
    ) -> tuple[np.ndarray, int]:
        """Speak the source's words in the target's voice.

        Args:
            source: what is said (path, (samples, rate), or samples at 22.05 kHz).
            target: a TargetVoice from `target_voice`, recordings of the target, or a bare (256,)
                d-vector from `embed_speaker` (then the stages that need the target's F0 or frames are skipped).
            progress: called with the fraction done (0-1) as the work goes on (for progress bars).
            pitch: "target" (the source's intonation at the target's pitch level) or "source" (its own level);
                with a pitch stage only.
            transpose: semitones on top of that (with a pitch stage only).

        Returns:
            (waveform (floor(N / 256) * 256,) float32, 22050): the same length as the source to a hop.
        """
        report = progress or (lambda fraction: None)
        with single_threaded_blas():
            done = self.conversion(
                source, target, name=name, progress=lambda f: report(0.2 * f), pitch=pitch, transpose=transpose
            )
            return self.vocode(done.mel, lambda f: report(0.2 + 0.8 * f), done.context), SAMPLE_RATE
