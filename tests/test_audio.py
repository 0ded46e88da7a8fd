"""The mel front end and loading audio of every shape and format."""

import librosa
import numpy as np
import pytest
import soundfile as sf
import torch

from helpers import voiced
from mediumvc.audio import LOG_FLOOR, load_audio, save_wav
from mediumvc.mel import MelSpectrogram, denormalize_mel, normalize_mel, num_frames

MEL = MelSpectrogram()


def reference_mel(y: np.ndarray) -> np.ndarray:
    """The HiFi-GAN mel recipe written independently with librosa: (80, T)."""
    y = np.pad(y, (384, 384), mode="reflect")
    spec = librosa.stft(y, n_fft=1024, hop_length=256, win_length=1024, window="hann", center=False)
    mag = np.sqrt(np.abs(spec) ** 2 + 1e-9)
    basis = librosa.filters.mel(sr=22050, n_fft=1024, n_mels=80, fmin=0, fmax=8000, htk=False, norm="slaney")
    return np.log(np.maximum(basis @ mag, 1e-5))


def test_mel_matches_independent_reference():
    y = voiced(1.3)
    ours = MEL(torch.from_numpy(y)).numpy()
    np.testing.assert_allclose(ours.T, reference_mel(y), atol=2e-3)


@pytest.mark.parametrize("n", [256, 257, 511, 512, 22050, 22050 * 2 + 100])
def test_frame_count_is_floor_n_over_hop(n):
    y = voiced(n / 22050 + 0.01)[:n]
    assert MEL(torch.from_numpy(y)).shape == (num_frames(n), 80) == (n // 256, 80)


def test_batched_mel_equals_single():
    y = torch.from_numpy(np.stack([voiced(0.5, seed=1), voiced(0.5, seed=2)]))
    batched = MEL(y)
    assert batched.shape == (2, 11025 // 256, 80)
    torch.testing.assert_close(batched[1], MEL(y[1]))


def test_silence_is_the_floor_and_a_tone_peaks_at_its_band():
    silent = MEL(torch.zeros(22050))
    assert torch.allclose(silent, torch.full_like(silent, LOG_FLOOR))
    assert torch.all(normalize_mel(silent) == 0)
    t = torch.arange(22050) / 22050
    tone = MEL(0.5 * torch.sin(2 * torch.pi * 1000 * t)).mean(0)
    mel_freqs = librosa.mel_frequencies(n_mels=82, fmin=0, fmax=8000)[1:-1]
    assert abs(mel_freqs[int(tone.argmax())] - 1000) < 60


def test_normalisation_round_trip_and_anchor_points():
    m = torch.linspace(LOG_FLOOR, 2.0, 101)
    torch.testing.assert_close(denormalize_mel(normalize_mel(m)), m)
    assert float(normalize_mel(torch.tensor(LOG_FLOOR))) == pytest.approx(0.0, abs=1e-7)
    assert float(normalize_mel(torch.tensor(0.0))) == 1.0


@pytest.mark.parametrize(
    "fmt,subtype",
    [
        ("WAV", "PCM_16"),
        ("WAV", "PCM_24"),
        ("WAV", "FLOAT"),
        ("FLAC", "PCM_16"),
        ("OGG", "VORBIS"),
        ("MP3", "MPEG_LAYER_III"),
    ],
)
def test_formats_load_as_mono_22k(tmp_path, fmt, subtype):
    y = voiced(1.0, sr=44100)
    path = tmp_path / f"x.{fmt.lower()}"
    sf.write(path, np.stack([y, y], axis=1), 44100, format=fmt, subtype=subtype)
    out = load_audio(path)
    assert out.dtype == np.float32 and out.ndim == 1
    assert abs(len(out) - 22050) < 2500  # mp3 adds encoder padding
    if fmt in ("WAV", "FLAC"):  # lossless: the same samples as resampling the original
        expected = librosa.resample(y, orig_sr=44100, target_sr=22050)
        assert np.corrcoef(out, expected)[0, 1] > 0.999


def test_arrays_tensors_ints_and_channels():
    y = voiced(0.5)
    as_int = (y * 32767).astype(np.int16)
    np.testing.assert_allclose(load_audio(as_int), y, atol=1e-4)
    np.testing.assert_allclose(load_audio(torch.from_numpy(y)), y)
    stereo_first = np.stack([y, y])  # (2, N)
    stereo_last = stereo_first.T  # (N, 2)
    np.testing.assert_allclose(load_audio(stereo_first), y)
    np.testing.assert_allclose(load_audio(stereo_last), y)
    six = np.stack([y] * 6, axis=1)
    np.testing.assert_allclose(load_audio(six), y, atol=1e-6)
    from_16k = load_audio((librosa.resample(y, orig_sr=22050, target_sr=16000), 16000))
    assert abs(len(from_16k) - len(y)) <= 2


def test_save_wav_is_atomic_and_readable(tmp_path):
    path = save_wav(tmp_path / "sub" / "out.wav", voiced(0.5))
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.frames) == (22050, 1, 11025)
    assert [p.name for p in path.parent.iterdir()] == ["out.wav"]  # no temp files left behind


def test_blockwise_stft_equals_one_pass():
    y = torch.from_numpy(voiced(3.0))
    small = MelSpectrogram()
    small.block_frames = 37  # many blocks, ragged last one
    torch.testing.assert_close(small(y), MEL(y))
