"""Long recordings converted in segments: the same length, no seams, nothing left behind, the CLI uses it."""

import numpy as np
import pytest
import soundfile as sf

from helpers import voiced
from mediumvc import longform
from mediumvc.audio import load_audio


def long_file(path, seconds=9.0, rate=16000):
    wav = np.concatenate([voiced(1.0, sr=rate, f0=120 + 10 * i, seed=i) for i in range(int(seconds))])
    sf.write(path, wav, rate, subtype="PCM_16")
    return path


def test_segments_join_without_seams_and_keep_the_length(tmp_path, tiny_converter):
    source = long_file(tmp_path / "long.wav")
    voice = tiny_converter.target_voice([voiced(2.0, seed=9)])
    out = tmp_path / "out.wav"
    written = longform.convert_long(tiny_converter, source, voice, out, segment_seconds=2.0, overlap_seconds=0.5)
    wav = sf.read(out, dtype="float32")[0]
    whole, _ = tiny_converter.convert(str(source), voice)
    assert written == len(wav) == len(whole) == longform.converted_length(source)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.wav", "out.wav"]  # no temporary file left
    # no click where segments meet: the largest sample step stays within the whole conversion's
    assert np.abs(np.diff(wav)).max() <= 1.5 * np.abs(np.diff(whole)).max() + 1e-3


def test_resampled_blocks_match_resampling_the_whole_file(tmp_path):
    source = long_file(tmp_path / "long.wav", seconds=4.0, rate=16000)
    whole = load_audio(source)
    with sf.SoundFile(str(source)) as f:
        pieces = [longform.read_resampled(f, s, min(len(whole), s + 10000)) for s in range(0, len(whole), 10000)]
    joined = np.concatenate(pieces)[: len(whole)]
    inner = slice(2000, len(whole) - 2000)
    assert np.abs(joined[inner] - whole[inner]).max() < 1e-2


def test_the_cli_converts_long_files_in_segments(tmp_path, tiny_model_dir, monkeypatch):
    from mediumvc.cli import main

    calls = []
    convert_long = longform.convert_long
    monkeypatch.setattr(longform, "LONG_SECONDS", 5.0)
    monkeypatch.setattr(longform, "convert_long", lambda *a, **k: calls.append(a[1]) or convert_long(*a, **k))
    source = long_file(tmp_path / "long.wav")
    sf.write(tmp_path / "target.wav", voiced(2.0, seed=3), 22050)
    out = tmp_path / "out.wav"
    assert (
        main(
            [
                "convert",
                str(source),
                "--target",
                str(tmp_path / "target.wav"),
                "-o",
                str(out),
                "-m",
                str(tiny_model_dir),
                "--quiet",
            ]
        )
        == 0
    )
    assert calls == [source] and sf.info(out).frames == longform.converted_length(source)


@pytest.mark.slow
def test_the_benchmark_measures_files_in_a_fresh_process():
    from mediumvc.benchmark import _file_rows

    rows = _file_rows("tiny", None, [0.6], threads=1, precision="fp32")
    assert [round(r["seconds"]) for r in rows] == [5, 36]
    assert rows[0]["over_first_mb"] == 0 and all(r["peak_rss_mb"] > 100 and r["rtf"] > 0 for r in rows)
