"""Intelligibility by ASR: pocketsphinx (BSD, its en-US model ships in the package) and WER/CER."""

from __future__ import annotations

import re

import numpy as np


def normalise_text(text: str) -> str:
    text = re.sub(r"[^a-z0-9' ]+", " ", text.lower())
    return re.sub(r"\s+", " ", text).strip()


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate after lower-casing and dropping punctuation (0 for identical texts)."""
    import jiwer

    ref, hyp = normalise_text(reference), normalise_text(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return float(jiwer.wer(ref, hyp or "<empty>"))


def cer(reference: str, hypothesis: str) -> float:
    import jiwer

    ref, hyp = normalise_text(reference), normalise_text(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return float(jiwer.cer(ref, hyp or " "))


class Transcriber:
    """English ASR at 16 kHz. Noisy (20-35 % WER on clean speech): compare converted speech with
    the unconverted source rather than reading the WER on its own."""

    def __init__(self) -> None:
        from pocketsphinx import Decoder

        self._decoder = Decoder(samprate=16000, loglevel="FATAL")

    def __call__(self, wav16: np.ndarray) -> str:
        pcm = (np.clip(wav16, -1, 1) * 32767).astype(np.int16).tobytes()
        d = self._decoder
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        return hyp.hypstr if hyp is not None else ""
