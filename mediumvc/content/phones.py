"""Phone labels on the mel's frame grid, from pocketsphinx's speaker-independent en-US acoustic model.

With the text known, the words are force-aligned; without it, the recogniser's own hypothesis is aligned
(decode, then align). Either way the result is one phone index per mel frame (22.05 kHz, hop 256), used
as training labels for the content model. Needs the `eval` extra (pocketsphinx).
"""

from __future__ import annotations

import re

import numpy as np

from mediumvc.audio import HOP_LENGTH, N_FFT, SAMPLE_RATE

# pocketsphinx en-US context-independent phones; fillers (+NSN+, +SPN+) count as silence.
PHONES = (
    "SIL",
    "AA",
    "AE",
    "AH",
    "AO",
    "AW",
    "AY",
    "B",
    "CH",
    "D",
    "DH",
    "EH",
    "ER",
    "EY",
    "F",
    "G",
    "HH",
    "IH",
    "IY",
    "JH",
    "K",
    "L",
    "M",
    "N",
    "NG",
    "OW",
    "OY",
    "P",
    "R",
    "S",
    "SH",
    "T",
    "TH",
    "UH",
    "UW",
    "V",
    "W",
    "Y",
    "Z",
    "ZH",
)
PHONE_INDEX = {p: i for i, p in enumerate(PHONES)}
ALIGN_RATE = 16000
ALIGN_FRAME_SECONDS = 0.01  # pocketsphinx's frame shift
# More words per second than anyone reads: the text does not belong to (all of) the audio, so it is not used.
MAX_WORDS_PER_SECOND = 4.5


def _decoder():
    from pocketsphinx import Decoder

    return Decoder(samprate=ALIGN_RATE, loglevel="FATAL", bestpath=False)


def normalise_text(text: str, known) -> list[str] | None:
    """Text -> lower-case dictionary words; None when a word is not in the dictionary (`known(word)`)."""
    words = re.sub(r"[^a-z' ]+", " ", text.lower().replace("-", " ")).split()
    words = [w.strip("'") for w in words if w.strip("'")]
    return words if words and all(known(w) for w in words) else None


class PhoneAligner:
    """Waveform (+ text, when known) -> phone index per mel frame.

    One pocketsphinx decoder, reused: about 0.1 x real time per pass on one core.
    """

    def __init__(self) -> None:
        self.decoder = _decoder()

    def _pcm(self, wav: np.ndarray, rate: int) -> bytes:
        import librosa

        x = (
            librosa.resample(np.asarray(wav, dtype=np.float32), orig_sr=rate, target_sr=ALIGN_RATE)
            if rate != ALIGN_RATE
            else wav
        )
        return (np.clip(x, -1, 1) * 32767).astype(np.int16).tobytes()

    def _run(self, pcm: bytes) -> None:
        self.decoder.start_utt()
        self.decoder.process_raw(pcm, full_utt=True)
        self.decoder.end_utt()

    def _known(self, word: str) -> bool:
        return self.decoder.lookup_word(word) is not None

    def segments(self, wav: np.ndarray, rate: int, text: str | None = None) -> tuple[list[tuple[str, int, int]], str]:
        """-> ([(phone, start, frames)] in 10 ms frames, how: "text" | "decoded" | "none")."""
        pcm = self._pcm(wav, rate)
        words = normalise_text(text, self._known) if text else None
        if words is not None and len(words) > MAX_WORDS_PER_SECOND * len(wav) / rate:
            words = None
        if words is not None:
            segments = self._align(pcm, words)
            if segments:
                return segments, "text"
        words = self._decode(pcm)
        segments = self._align(pcm, words) if words else []
        return segments, "decoded" if segments else "none"

    def _decode(self, pcm: bytes) -> list[str]:
        self.decoder.activate_search()  # the default n-gram search
        self._run(pcm)
        hyp = self.decoder.hyp()
        return hyp.hypstr.split() if hyp is not None else []

    def _align(self, pcm: bytes, words: list[str]) -> list[tuple[str, int, int]]:
        """Phone segments of `words` force-aligned to the audio; [] when they do not align."""
        try:
            self.decoder.set_align_text(" ".join(words))
            self._run(pcm)
            self.decoder.set_alignment()
            self._run(pcm)
            alignment = self.decoder.get_alignment()
        except RuntimeError:
            return []
        finally:
            self.decoder.activate_search()
        return [] if alignment is None else [(p.name, p.start, p.duration) for p in alignment.phones()]

    def frame_labels(self, wav: np.ndarray, rate: int, text: str | None = None) -> tuple[np.ndarray, str]:
        """-> (phone index per mel frame (floor(N_22k / 256),) int16, -1 where unaligned; how)."""
        segs, how = self.segments(wav, rate, text)
        frames = int(len(wav) * SAMPLE_RATE / rate) // HOP_LENGTH
        return segments_to_frames(segs, frames), how


def segments_to_frames(segments: list[tuple[str, int, int]], frames: int) -> np.ndarray:
    """[(phone, start, count)] in 10 ms frames -> (frames,) int16 phone index per mel frame, -1 where none.

    Mel frame t is centred at sample t * 256 + 128 of the 22.05 kHz signal (reflect pad 384, window 1024)."""
    labels = np.full(frames, -1, dtype=np.int16)
    centres = (np.arange(frames) * HOP_LENGTH + (N_FFT // 2 - (N_FFT - HOP_LENGTH) // 2)) / SAMPLE_RATE
    ten_ms = np.floor(centres / ALIGN_FRAME_SECONDS).astype(np.int64)
    for name, start, count in segments:
        index = PHONE_INDEX.get(name, 0)  # fillers -> SIL
        labels[(ten_ms >= start) & (ten_ms < start + count)] = index
    return labels
