"""Every way a recording can be unusable gets one clear line (AudioError), or is handled."""

import numpy as np
import pytest
import soundfile as sf

from helpers import voiced
from mediumvc.audio import HOP_LENGTH, load_audio
from mediumvc.errors import AudioError


def one_line_error(match: str, *args, **kwargs) -> str:
    with pytest.raises(AudioError, match=match) as info:
        load_audio(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message and len(message) < 400
    return message


def test_missing_and_folder(tmp_path):
    one_line_error("no such file", tmp_path / "nope.wav")
    one_line_error("is a folder", tmp_path)


def test_empty_file(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    one_line_error("is empty", tmp_path / "empty.wav")


def test_non_audio_file(tmp_path):
    (tmp_path / "notes.wav").write_text("this is not audio\n" * 50)
    one_line_error("could not be decoded as audio", tmp_path / "notes.wav")


def test_truncated_files(tmp_path):
    good = tmp_path / "good.wav"
    sf.write(good, voiced(1.0), 22050)
    data = good.read_bytes()
    header_cut = tmp_path / "header_cut.wav"
    header_cut.write_bytes(data[:30])
    one_line_error("could not be decoded", header_cut)
    half = tmp_path / "half.wav"
    half.write_bytes(data[: len(data) // 2])  # header intact, data cut: what is there is used
    wav = load_audio(half)
    assert 0.4 * 22050 < len(wav) < 0.6 * 22050


def test_silence_nan_and_too_short(tmp_path):
    one_line_error("silent", np.zeros(22050, np.float32))
    one_line_error("silent", np.full(22050, 1e-5, np.float32))
    y = voiced(0.5)
    y[100] = np.nan
    one_line_error("NaN", y)
    path = tmp_path / "nan.wav"
    sf.write(path, y, 22050, subtype="FLOAT")
    one_line_error("NaN", path)
    y[100] = np.inf
    one_line_error("NaN or infinite", y)
    one_line_error("too short", voiced(0.01)[:100], min_samples=HOP_LENGTH)
    one_line_error("no samples", np.zeros(0, np.float32))


def test_too_long_is_refused_from_the_header(tmp_path):
    path = tmp_path / "long.wav"
    sf.write(path, voiced(3.0), 22050)
    message = one_line_error("above the limit", path, max_seconds=2.0)
    assert "--max-seconds" in message
    one_line_error("3.0 s long, above the limit of 2.0 s", voiced(3.0), max_seconds=2.0)


@pytest.mark.parametrize("rate", [8000, 96000])
def test_unusual_rates_are_resampled(tmp_path, rate):
    path = tmp_path / f"r{rate}.wav"
    sf.write(path, voiced(1.0, sr=rate), rate)
    assert abs(len(load_audio(path)) - 22050) <= 2


def test_formats_beyond_libsndfile_go_through_ffmpeg(tmp_path):
    import shutil
    import subprocess

    wav = tmp_path / "x.wav"
    sf.write(wav, voiced(1.0), 22050)
    m4a = tmp_path / "x.m4a"
    if shutil.which("ffmpeg"):  # .ci/run installs it
        subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(wav), "-c:a", "aac", str(m4a)], check=True)
        assert abs(len(load_audio(m4a)) - 22050) < 2500
    else:
        m4a.write_bytes(b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 200)
        one_line_error("could not be decoded", m4a)
