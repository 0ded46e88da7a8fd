"""The real command line, in subprocesses: single file, folder, pairs file, overwrite rules, errors."""

import os
import stat
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from helpers import voiced


def run(*args, cwd=None):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "mediumvc", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )


def test_create_model_then_convert_one_file(tmp_path, speech):
    model = tmp_path / "rand"
    umask = os.umask(0o022)  # the usual one: what was written must be readable by others (shared disks, servers)
    try:
        r = run("create-model", model, "--config", "tiny")
        assert r.returncode == 0, r.stderr
        out = tmp_path / "out.wav"
        r = run(
            "convert",
            speech["p225_003"],
            "--target",
            speech["p226_003"],
            speech["p227_003"],
            "-m",
            model,
            "-o",
            out,
            "--threads",
            "2",
        )
    finally:
        os.umask(umask)
    assert r.returncode == 0, r.stderr
    assert f"wrote {out}" in r.stdout
    assert (model / "config.json").is_file() and (model / "model.safetensors").is_file()
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)
    assert (mode(model), mode(model / "model.safetensors"), mode(model / "config.json"), mode(out)) == (
        0o755,
        0o644,
        0o644,
        0o644,
    )
    info, src = sf.info(out), sf.info(speech["p225_003"])
    assert info.samplerate == 22050 and info.channels == 1
    assert abs(info.duration - src.duration) < 256 / 22050 + 1e-6  # same length to a hop

    # never overwrite silently; --overwrite replaces; a missing target list is explained
    r = run("convert", speech["p225_003"], "--target", speech["p226_003"], "-m", model, "-o", out)
    assert r.returncode == 2 and "already exist" in r.stderr and "--overwrite" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = run("convert", speech["p225_003"], "-m", model, "-o", out)
    assert r.returncode == 2 and "--target" in r.stderr


def test_readme_main_command_converts_the_bundled_samples_with_the_bundled_model(tmp_path):
    from mediumvc.samples import SOURCE, TARGET

    out = tmp_path / "converted.wav"
    r = run("convert", SOURCE, "--target", TARGET, "-o", out, "--threads", "2")  # no --model: the bundled one
    assert r.returncode == 0, r.stderr
    assert f"wrote {out}" in r.stdout
    wav, sr = sf.read(out)
    assert sr == 22050 and abs(len(wav) / sr - sf.info(SOURCE).duration) < 256 / 22050 + 1e-6
    assert np.isfinite(wav).all() and np.abs(wav).max() > 0.05  # speech, not silence
    # the bundled model's pitch stage puts the output at the target's pitch (pyin, the evaluation's tracker)
    from mediumvc.audio import load_audio
    from mediumvc.evaluation.pitch import judged_f0, semitones

    target_f0 = judged_f0(load_audio(TARGET), 22050)
    assert abs(semitones(judged_f0(wav.astype(np.float32), sr), target_f0)) < 1.5


def test_folder_and_pairs_batches(tmp_path, tiny_model_dir, speech):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    sf.write(src / "a.wav", voiced(1.0), 22050)
    sf.write(src / "sub" / "b.flac", voiced(0.8, sr=16000), 16000)
    (src / "notes.txt").write_text("ignored: not audio")
    out = tmp_path / "out"
    r = run("convert", src, "--target", speech["p226_003"], "-m", tiny_model_dir, "-o", out)
    assert r.returncode == 0, r.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.wav")) == [
        "a_to_p226_003.wav",
        "sub/b_to_p226_003.wav",
    ]
    assert "converted 2 of 2" in r.stdout

    r = run("convert", src, "--target", speech["p226_003"], "-m", tiny_model_dir, "-o", out, "--skip-existing")
    assert r.returncode == 0 and "nothing to do" in r.stderr

    pairs = tmp_path / "pairs.tsv"
    sf.write(tmp_path / "bad.wav", np.zeros(22050, np.float32), 22050)  # silent: fails, the batch goes on
    pairs.write_text(
        "source\ttarget\toutput\n"
        f"src/a.wav\t{speech['p226_003']}\t{speech['p227_003']}\tp1.wav\n"
        f"bad.wav\t{speech['p226_003']}\tp2.wav\n"
        f"src/sub/b.flac\t{speech['p225_003']}\tdeep/p3.wav\n"
    )
    r = run("convert", "--pairs", pairs, "-m", tiny_model_dir, "-o", tmp_path / "pairs_out")
    assert r.returncode == 1
    assert "bad.wav is silent" in r.stderr and "converted 2 of 3" in r.stdout
    assert sorted(p.name for p in (tmp_path / "pairs_out").rglob("*.wav")) == ["p1.wav", "p3.wav"]


def test_bad_inputs_through_the_cli_are_one_line(tmp_path, tiny_model_dir, speech):
    (tmp_path / "empty.wav").write_bytes(b"")
    cases = {
        tmp_path / "empty.wav": "is empty",
        tmp_path / "missing.wav": "no such file",
    }
    for source, message in cases.items():
        r = run("convert", source, "--target", speech["p226_003"], "-m", tiny_model_dir, "-o", tmp_path / "o.wav")
        assert r.returncode == 2 and message in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    r = run(
        "convert",
        speech["p225_003"],
        "--target",
        speech["p226_003"],
        "-m",
        tmp_path / "nomodel",
        "-o",
        tmp_path / "o.wav",
    )
    assert r.returncode == 2 and "no such directory" in r.stderr
    # a device this machine cannot give: one line that names what to pass instead
    devices = {"gpu": "unknown device", **({} if torch.cuda.is_available() else {"cuda": "use --device cpu"})}
    for device, message in devices.items():
        r = run(
            "convert",
            speech["p225_003"],
            "--target",
            speech["p226_003"],
            "-m",
            tiny_model_dir,
            "-o",
            tmp_path / "o.wav",
            "--device",
            device,
        )
        assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    # stage settings out of range at export: one line naming the setting
    for flag, values, message in [
        ("--match", ["0.5", "4", "8"], "match.frames"),
        ("--detail", ["3", "13"], "detail.gain"),
    ]:
        r = run("export", tmp_path / "any.ckpt", tmp_path / "exported", flag, *values)
        assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_benchmark_prints_every_stage(tmp_path):
    import json

    out = tmp_path / "bench.json"
    r = run(
        "benchmark",
        "--config",
        "tiny",
        "--seconds",
        "1",
        "--repeats",
        "1",
        "--precisions",
        "fp32",
        "--threads",
        "1",
        "--batch",
        "2",
        "--stream-seconds",
        "2",
        "--json",
        out,
    )
    assert r.returncode == 0, r.stderr
    assert "| default | fp32 | 1 s |" in r.stdout and "| fast | fp32 | 1 s |" in r.stdout and "1 threads" in r.stdout
    assert "| default | fp32 | 197 ms | 93 ms |" in r.stdout
    row, fast = json.loads(out.read_text())["rtf"]
    assert all(row[k] > 0 for k in ("speaker (5 s ref)", "mel", "SingleVC", "MediumVC", "vocoder", "end to end"))
    assert (row["vocoder_option"], fast["vocoder_option"]) == ("default", "fast")
    assert 100 < row["peak_rss_mb"] < 24_000
    batched = json.loads(out.read_text())["rtf_batched"][0]
    assert batched["batch"] == 2 and batched["networks + vocoder"] > 0
    stream = json.loads(out.read_text())["stream"][0]
    assert 0 < stream["compute_median_ms"] <= stream["compute_max_ms"] and stream["latency_ms"] == pytest.approx(
        197.37, abs=0.01
    )


def test_training_throughput_benchmark():
    r = run("benchmark", "--train", "--presets", "tiny", "--repeats", "1", "--threads", "1", "--precisions", "fp32")
    assert r.returncode == 0, r.stderr
    assert "| tiny | singlevc | fp32 |" in r.stdout and "| tiny | mediumvc | fp32 |" in r.stdout


def test_baseline_methods_through_convert(tmp_path, speech):
    out = tmp_path / "identity.wav"
    r = run("convert", speech["p227_003"], "--target", speech["p225_003"], "--method", "identity", "-o", out)
    assert r.returncode == 0, r.stderr
    assert abs(sf.info(out).duration - sf.info(speech["p227_003"]).duration) < 256 / 22050 + 1e-6
    r = run(
        "convert",
        speech["p227_003"],
        "--target",
        speech["p225_003"],
        "--method",
        "dsp",
        "-m",
        tmp_path,
        "-o",
        tmp_path / "d.wav",
    )
    assert r.returncode == 2 and "takes neither" in r.stderr
    r = run("convert", speech["p227_003"], "-t", speech["p225_003"], "--method", "dsp", "--vocoder", "fast")
    assert r.returncode == 2 and "--vocoder are for the mediumvc method" in r.stderr
