"""Baseline conversion methods, with the converter's two verbs (`target_voice`, `convert`), so a
report can put them beside MediumVC and `mediumvc convert --method NAME` can run them.

- identity: the source itself (the no-conversion floor of every speaker metric);
- copy-synthesis: the source's mel through the HiFi-GAN vocoder (what the vocoder alone costs);
- dsp: WORLD analysis/synthesis (pyworld, MIT), F0 moved to the target's median and the spectral
  envelope warped along frequency by (F0 ratio)^0.25, about how formants scale between voices.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from mediumvc.audio import HOP_LENGTH, SAMPLE_RATE, AudioLike, load_audio
from mediumvc.errors import MediumVCError
from mediumvc.evaluation.pitch import judged_f0
from mediumvc.speaker.base import is_single_recording

METHODS = ("mediumvc", "identity", "copy-synthesis", "dsp")


def _recordings(targets) -> list:
    return [targets] if is_single_recording(targets) else list(targets)


class Identity:
    name = "identity"

    def target_voice(self, recordings) -> None:
        return None

    def convert(
        self, source: AudioLike, speaker=None, name: str | None = None, progress=None
    ) -> tuple[np.ndarray, int]:
        wav = load_audio(source, name=name, min_samples=HOP_LENGTH)
        return wav[: len(wav) // HOP_LENGTH * HOP_LENGTH], SAMPLE_RATE


class CopySynthesis:
    """The source's own mel through the vocoder."""

    name = "copy-synthesis"

    def __init__(self, device: str = "cpu") -> None:
        from mediumvc.mel import MelFrontEnd
        from mediumvc.runtime import resolve_device
        from mediumvc.vocoder import MelVocoder, load_hifigan

        self._front_end = MelFrontEnd(resolve_device(device))
        self._vocoder = MelVocoder(load_hifigan(), device)

    def target_voice(self, recordings) -> None:
        return None

    def convert(
        self, source: AudioLike, speaker=None, name: str | None = None, progress=None
    ) -> tuple[np.ndarray, int]:
        return self._vocoder(self._front_end.source_mel(source, name=name)), SAMPLE_RATE


def warp_envelope(envelope: np.ndarray, alpha: float) -> np.ndarray:
    """(frames, bins) spectral envelope -> the same stretched along frequency by alpha (>1 raises formants)."""
    bins = np.arange(envelope.shape[1], dtype=np.float64)
    source_bins = np.clip(bins / alpha, 0, envelope.shape[1] - 1)
    return np.stack([np.interp(source_bins, bins, frame) for frame in envelope])


class WorldDSP:
    """Pitch to the target's median, formants scaled by (F0 ratio)^0.25, resynthesised with WORLD."""

    name = "dsp"
    formant_exponent = 0.25

    def target_voice(self, recordings: AudioLike | Sequence[AudioLike]) -> float:
        """Target recordings -> their median F0 in Hz."""
        f0s = [judged_f0(load_audio(r, min_samples=SAMPLE_RATE // 10), SAMPLE_RATE) for r in _recordings(recordings)]
        f0s = [f for f in f0s if not math.isnan(f)]
        if not f0s:
            raise MediumVCError(
                "no voiced speech found in the target recording(s): the DSP baseline needs a pitch to aim at"
            )
        return float(np.median(f0s))

    def convert(self, source: AudioLike, speaker, name: str | None = None, progress=None) -> tuple[np.ndarray, int]:
        import pyworld

        target_f0 = speaker if isinstance(speaker, float) else self.target_voice(speaker)
        wav = load_audio(source, name=name, min_samples=HOP_LENGTH).astype(np.float64)
        f0, t = pyworld.dio(wav, SAMPLE_RATE, frame_period=5.0)
        f0 = pyworld.stonemask(wav, f0, t, SAMPLE_RATE)
        voiced = f0[f0 > 0]
        if len(voiced) == 0:
            raise MediumVCError(f"{name or source}: no voiced speech found; the DSP baseline cannot move its pitch")
        ratio = target_f0 / float(np.median(voiced))
        sp = pyworld.cheaptrick(wav, f0, t, SAMPLE_RATE)
        ap = pyworld.d4c(wav, f0, t, SAMPLE_RATE)
        alpha = ratio**self.formant_exponent
        out = pyworld.synthesize(
            f0 * ratio,
            np.ascontiguousarray(warp_envelope(sp, alpha)),
            np.ascontiguousarray(warp_envelope(ap, alpha)),
            SAMPLE_RATE,
            5.0,
        )
        n = len(wav) // HOP_LENGTH * HOP_LENGTH
        out = np.pad(out, (0, max(0, n - len(out))))[:n].astype(np.float32)
        peak = float(np.max(np.abs(out))) or 1.0
        return out * min(1.0, 0.95 / peak), SAMPLE_RATE


def make_baseline(name: str, device: str = "auto"):
    """A baseline by name: 'identity', 'copy-synthesis' or 'dsp'."""
    if name == "identity":
        return Identity()
    if name == "copy-synthesis":
        from mediumvc.runtime import resolve_device

        return CopySynthesis(str(resolve_device(device)))
    if name == "dsp":
        return WorldDSP()
    raise MediumVCError(f"unknown method {name!r}: choose one of {', '.join(METHODS)}")


def make_method(name: str, model: str | None = None, device: str = "auto", precision: str = "auto", **kwargs):
    """A conversion method by name: 'mediumvc' (a model directory, or the bundled model) or a baseline."""
    if name == "mediumvc":
        from mediumvc.converter import VoiceConverter

        return VoiceConverter.from_pretrained(model, device=device, precision=precision, **kwargs)
    if model is not None:
        raise MediumVCError(f"--model is for the mediumvc method; the {name} baseline takes none")
    return make_baseline(name, device)
