"""What a new user trips on: late or vague errors, pipes, the version, stray files."""

import subprocess
import sys
import tempfile

import numpy as np
import pytest
import soundfile as sf

from helpers import voiced
from mediumvc import __version__
from mediumvc.audio import load_audio
from mediumvc.cli import main
from mediumvc.errors import AudioError
from mediumvc.samples import SOURCE, TARGET


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"mediumvc {__version__}"


def test_output_piped_into_head_ends_quietly():
    r = subprocess.run(
        f"{sys.executable} -m mediumvc convert --help | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0 and "usage" in r.stdout and "Traceback" not in r.stderr, r.stderr


def test_a_bad_source_is_told_before_any_model_loads(tmp_path, monkeypatch, capsys):
    def no_model(args):
        raise AssertionError("the model was loaded before the inputs were checked")

    monkeypatch.setattr("mediumvc.cli.convert.make_converter", no_model)
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    assert main(["convert", str(text), "--target", str(TARGET), "-o", str(tmp_path / "o.wav")]) == 2
    assert "could not be decoded" in capsys.readouterr().err
    assert main(["convert", str(SOURCE), "--target", str(tmp_path / "gone.wav"), "-o", str(tmp_path / "o.wav")]) == 2
    assert "gone.wav: no such file" in capsys.readouterr().err
    assert (
        main(["convert", str(SOURCE), "--target", str(TARGET), "-o", str(tmp_path / "o.wav"), "--max-seconds", "1"])
        == 2
    )
    assert "above the limit of 1.0 s" in capsys.readouterr().err


def test_targets_given_first_are_explained(tmp_path, capsys):
    assert main(["convert", "--target", str(TARGET), str(SOURCE)]) == 2
    err = capsys.readouterr().err
    assert "put the SOURCE first" in err and err.count("\n") == 1


def test_outputs_must_be_wav(tmp_path, capsys):
    assert main(["convert", str(SOURCE), "--target", str(TARGET), "-o", str(tmp_path / "out.mp3")]) == 2
    assert "must end in .wav" in capsys.readouterr().err
    assert not (tmp_path / "out.mp3").exists()


def test_pairs_rows_that_fail_are_listed_with_row_and_source(tmp_path, tiny_model_dir, capsys):
    sf.write(tmp_path / "good.wav", voiced(1.0), 22050)
    (tmp_path / "bad.wav").write_text("not audio")
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text(f"good.wav\t{TARGET}\ta.wav\nbad.wav\t{TARGET}\tb.wav\ngood.wav\tmissing.wav\tc.wav\n")
    code = main(["convert", "--pairs", str(pairs), "-o", str(tmp_path / "out"), "-m", str(tiny_model_dir)])
    out = capsys.readouterr().out
    assert code == 1 and (tmp_path / "out" / "a.wav").is_file()
    assert "converted 1 of 3 file(s); 2 failed:" in out
    assert f"row 2 ({tmp_path / 'bad.wav'})" in out and f"row 3 ({tmp_path / 'good.wav'})" in out


def test_the_api_answers_bad_arguments_with_its_own_errors(tiny_converter):
    with pytest.raises(AudioError, match="invalid sample rate 0"):
        load_audio((np.ones(100, np.float32), 0), max_seconds=10)
    with pytest.raises(AudioError, match="at least one recording"):
        tiny_converter.target_voice([])
    with pytest.raises(AudioError, match=r"too short \(0\.005 s\): at least 0\.012 s"):
        load_audio((0.5 * np.ones(100, np.float32), 22050), min_samples=256)


def test_the_benchmark_leaves_no_model_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    from mediumvc.benchmark import run_benchmark

    run_benchmark(config="tiny", seconds=[1.0], precisions=["fp32"], repeats=1, threads=1, batch=1, stream_seconds=0)
    assert list(tmp_path.iterdir()) == []


def test_pitch_flags_are_checked(tmp_path, tiny_model_dir, capsys):
    out = str(tmp_path / "o.wav")
    assert main(["convert", str(SOURCE), "--target", str(TARGET), "-o", out, "--transpose", "30"]) == 2
    assert "within two octaves" in capsys.readouterr().err
    args = ["convert", str(SOURCE), "--target", str(TARGET), "-o", out, "-m", str(tiny_model_dir), "--pitch", "source"]
    assert main(args) == 2  # the tiny model has no pitch stage
    assert "need a model with a pitch stage" in capsys.readouterr().err


def test_every_option_says_what_it_does():
    import argparse

    from mediumvc.cli import build_parser

    silent = []

    def walk(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*path, name])
            elif not action.help and action.dest != "help":
                silent.append(" ".join([*path, *(action.option_strings or [action.dest])]))

    walk(build_parser(), [])
    assert silent == []
