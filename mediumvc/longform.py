"""Long recordings in bounded memory: a file is read, converted and written in overlapping segments.

Two passes over the source file: the first finds its peak (the loudness normalisation) and its median F0 (the
pitch stage's reference); the second converts segment by segment and cross-fades the joins, writing the output
as it goes. Memory depends on the segment length, not on the recording's: an hour costs what a minute does.
Differences from converting the whole recording at once stay near the joins (each segment normalises over
itself, as the networks' windows already do).
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from mediumvc.audio import HOP_LENGTH, PEAK, SAMPLE_RATE, SILENCE_PEAK
from mediumvc.converter import VoiceConverter, overlapping_windows
from mediumvc.errors import AudioError
from mediumvc.f0 import median_f0, source_contour
from mediumvc.files import atomic_write
from mediumvc.runtime import single_threaded_blas
from mediumvc.voice import TargetVoice

SEGMENT_SECONDS = 10.0
OVERLAP_SECONDS = 1.0
LONG_SECONDS = 30.0  # longer files are converted in segments
# Vocoder pieces of 4 s: HiFi-GAN's activations for an 8 s piece cost about 300 MB more (measured).
VOCODER_FRAMES = int(4.0 * SAMPLE_RATE / HOP_LENGTH)
_MARGIN_SECONDS = 0.05  # extra audio around each block, so the resampler's edges fall outside it


def converted_length(path: str | Path) -> int:
    """Samples of the 22.05 kHz output for a source file (whole hops, as `VoiceConverter.convert` returns)."""
    info = sf.info(str(path))
    resampled = int(np.ceil(info.frames * SAMPLE_RATE / info.samplerate))
    return resampled // HOP_LENGTH * HOP_LENGTH


def read_resampled(f: sf.SoundFile, start: int, stop: int) -> np.ndarray:
    """Output samples [start, stop) of the source resampled to 22.05 kHz: mono float32, read block-wise."""
    rate = f.samplerate
    margin = int(_MARGIN_SECONDS * rate)
    grid = rate // math.gcd(rate, SAMPLE_RATE)  # source samples that start on a whole output sample
    first = max(0, int(start * rate / SAMPLE_RATE) - margin) // grid * grid
    last = min(f.frames, int(np.ceil(stop * rate / SAMPLE_RATE)) + margin)
    f.seek(first)
    block = f.read(last - first, dtype="float32", always_2d=True).mean(axis=1)
    if rate != SAMPLE_RATE:
        block = librosa.resample(block, orig_sr=rate, target_sr=SAMPLE_RATE, res_type="soxr_hq")
    offset = start - int(round(first * SAMPLE_RATE / rate))
    out = np.zeros(stop - start, np.float32)
    piece = block[offset : offset + stop - start]
    out[: len(piece)] = piece
    return out


def scan(path: str | Path, block_seconds: float = SEGMENT_SECONDS) -> tuple[float, float | None]:
    """(peak, median F0 of the voiced frames) of a source file, one block in memory at a time."""
    total = converted_length(path)
    step = int(block_seconds * SAMPLE_RATE) // HOP_LENGTH * HOP_LENGTH
    peak, voiced = 0.0, []
    with sf.SoundFile(str(path)) as f:
        for start in range(0, total, step):
            block = read_resampled(f, start, min(total, start + step))
            if not np.all(np.isfinite(block)):
                raise AudioError(f"{path} contains NaN or infinite samples: fix or re-export the recording")
            peak = max(peak, float(np.abs(block).max()))
            contour = source_contour(block)
            voiced.append(contour[contour > 0])
    return peak, median_f0(np.concatenate(voiced)) if voiced else None


def return_freed_memory() -> bool:
    """Ask glibc to hand large freed blocks back to the system (what MALLOC_MMAP_THRESHOLD_=131072 and
    MALLOC_TRIM_THRESHOLD_=0 do): otherwise each new array shape a segment brings leaves its heap pages
    resident, about 270 MB over a whole conversion of a 5 s file (measured). False where there is no glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-3, 128 * 1024)) and bool(libc.mallopt(-1, 0))  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        return False


def convert_long(
    vc: VoiceConverter,
    source: str | Path,
    voice: TargetVoice,
    output: str | Path,
    progress: Callable[[float], None] | None = None,
    segment_seconds: float = SEGMENT_SECONDS,
    overlap_seconds: float = OVERLAP_SECONDS,
    pitch: str = "target",
    transpose: float = 0.0,
) -> int:
    """Convert the file `source` into the WAV `output` (written atomically) segment by segment.
    Returns the number of output samples."""
    report = progress or (lambda fraction: None)
    return_freed_memory()
    peak, source_f0 = scan(source)
    report(0.05)
    if peak < SILENCE_PEAK:
        raise AudioError(f"{source} is silent (peak below -60 dBFS): nothing to convert")
    scale = PEAK / peak
    total_frames = converted_length(source) // HOP_LENGTH
    size = int(segment_seconds * SAMPLE_RATE / HOP_LENGTH)
    overlap = int(overlap_seconds * SAMPLE_RATE / HOP_LENGTH)
    windows = overlapping_windows(total_frames, size, overlap)

    def write(tmp: str) -> None:
        with sf.SoundFile(tmp, "w", SAMPLE_RATE, 1, "PCM_16", format="WAV") as out, sf.SoundFile(str(source)) as f:
            tail = np.zeros(0, np.float32)  # the previous segment's samples that overlap this one
            for i, (s, e) in enumerate(windows):
                wav = read_resampled(f, s * HOP_LENGTH, e * HOP_LENGTH) * scale
                mel = vc.front_end.wav_mel(wav)
                context = vc.stage_context(wav, mel, voice, source_f0=source_f0, pitch=pitch, transpose=transpose)
                converted = vc.run_stages(vc.convert_mel(mel, voice.dvector), context)
                piece = vc.finish(vc.vocoder(converted, chunk_frames=VOCODER_FRAMES), context)
                ramp = len(tail)
                if ramp:
                    fade = np.linspace(0.0, 1.0, ramp + 2, dtype=np.float32)[1:-1]
                    piece[:ramp] = tail * (1 - fade) + piece[:ramp] * fade
                keep = (windows[i + 1][0] - s) * HOP_LENGTH if i + 1 < len(windows) else len(piece)
                out.write(np.clip(piece[:keep], -1.0, 1.0))
                tail = piece[keep:]
                report(0.05 + 0.95 * (i + 1) / len(windows))

    with single_threaded_blas():
        atomic_write(output, write)
    return total_frames * HOP_LENGTH


def convert_to_file(converter, source: str | Path, voice, output: str | Path, progress=None, **pitch) -> float:
    """Convert the file `source` into the WAV `output` (atomically); returns its seconds. A `VoiceConverter`
    converts files longer than LONG_SECONDS that libsndfile reads in segments; anything else is converted
    whole in memory. `pitch`: the pitch options of `VoiceConverter.convert` (pitch, transpose)."""
    from mediumvc.audio import audio_duration, save_wav

    duration = audio_duration(source)
    if isinstance(converter, VoiceConverter) and duration is not None and duration > LONG_SECONDS:
        return convert_long(converter, source, voice, output, progress, **pitch) / SAMPLE_RATE
    wav, sr = converter.convert(str(source), voice, progress=progress, **pitch)
    save_wav(output, wav, sr)
    return len(wav) / sr
