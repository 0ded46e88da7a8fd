"""Evaluation: metric functions on cases with known answers, baselines, and the whole command."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from helpers import voiced
from mediumvc.errors import MediumVCError
from mediumvc.evaluation.asr import cer, wer
from mediumvc.evaluation.compare import compare_results
from mediumvc.evaluation.conversions import bootstrap_ci
from mediumvc.evaluation.pitch import judged_f0, semitones
from mediumvc.psdr import pitch_shift

pytestmark = pytest.mark.tools("sox", "chromium")


def test_f0_error_of_a_shifted_signal_equals_the_shift():
    y = voiced(1.5, f0=140.0)
    for shift in (-5, 3):
        shifted = pitch_shift(y, 22050, shift, "sox")
        assert abs(semitones(judged_f0(shifted, 22050), judged_f0(y, 22050)) - shift) < 0.3


def test_wer_and_cer_known_answers():
    assert wer("the cat sat", "The cat, sat!") == 0.0 and cer("abc", "abc") == 0.0
    assert wer("the cat sat on the mat", "the cat sat on a mat") == pytest.approx(1 / 6)
    assert wer("one two", "") == 1.0


def test_bootstrap_interval():
    mean, low, high = bootstrap_ci([0.5] * 10)
    assert mean == low == high == 0.5
    mean, low, high = bootstrap_ci(list(np.linspace(0, 1, 101)) + [float("nan")])
    assert mean == pytest.approx(0.5) and low < 0.5 < high and high - low < 0.25


def test_paired_comparison_sees_a_small_shift_the_spread_hides():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.4, 0.9, 40)  # a wide spread across pairs, as between speakers
    rows = lambda method, sims, wers: [
        {"pair": f"p{i}", "method": method, "failed": 0, "sim_target": float(s), "wer": float(w)}
        for i, (s, w) in enumerate(zip(sims, wers))
    ]
    a = {"rows": rows("mediumvc", base, base)}
    b = {
        "rows": rows("mediumvc", base + 0.01 + rng.normal(0, 0.005, 40), base + rng.normal(0, 0.02, 40))[::-1]
    }  # order must not matter
    assert bootstrap_ci(list(base + 0.01))[1] < base.mean()  # the per-model intervals overlap ...
    result = compare_results(a, b)
    assert result["sim_target"]["verdict"] == "better" and result["sim_target"]["diff"] == pytest.approx(
        0.01, abs=0.003
    )
    assert result["wer"]["verdict"] == "within noise" and result["sim_target"]["pairs"] == 40
    assert compare_results(b, a)["sim_target"]["verdict"] == "worse"
    b["rows"][0]["wer"] += 5  # one wildly worse pair on a lower-is-better metric
    assert compare_results(a, b)["wer"]["diff"] > 0.1
    assert compare_results({"rows": a["rows"][:3]}, b)["sim_target"]["verdict"] == "too few pairs"
    with pytest.raises(MediumVCError, match="no measured rows of method 'dsp'"):
        compare_results(a, b, "dsp")
    with pytest.raises(MediumVCError, match="share no pairs"):
        compare_results(a, {"rows": [{**r, "pair": "other" + r["pair"]} for r in b["rows"]]})


def test_trials_are_balanced_and_seeded(tmp_path):
    from mediumvc.data.corpus import Utterance
    from mediumvc.evaluation.trials import make_trials

    utts = [Utterance(tmp_path / f"{s}{i}.wav", s, f"{s}/{i}") for s in "abc" for i in range(3)]
    trials = make_trials(utts, 100, seed=3)
    assert sum(t[2] for t in trials) == 50 and trials == make_trials(utts, 100, seed=3)
    assert all((utts[i].speaker == utts[j].speaker) == bool(same) and i != j for i, j, same in trials)


def test_dsp_baseline_moves_pitch_to_the_target(speech):
    from mediumvc.evaluation.baselines import Identity, WorldDSP

    dsp = WorldDSP()
    target_f0 = dsp.target_voice([speech["p225_003"]])
    wav, sr = dsp.convert(speech["p227_003"], target_f0)
    assert abs(semitones(judged_f0(wav, sr), target_f0)) < 1.0
    src, _ = Identity().convert(speech["p227_003"])
    assert len(wav) == len(src) and abs(semitones(judged_f0(src, sr), target_f0)) > 5


def test_evaluate_commands_build_the_report(tmp_path, speech):
    corpus = tmp_path / "corpus"
    for name, path in speech.items():
        (corpus / name.split("_")[0]).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, corpus / name.split("_")[0] / path.name)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    run = lambda *a: subprocess.run(
        [sys.executable, "-m", "mediumvc", *map(str, a)], capture_output=True, text=True, env=env, timeout=900
    )
    r = run("evaluate", "eer", corpus, "--trials", "40", "--out", tmp_path / "eer")
    assert r.returncode == 0, r.stderr
    eer = json.loads((tmp_path / "eer" / "eer.json").read_text())
    assert 0 <= eer["eer"] <= 0.5 and eer["trials"] == 40 and (tmp_path / "eer" / "eer.png").stat().st_size > 5000

    pairs = tmp_path / "pairs.tsv"
    pairs.write_text(
        "source\ttarget\theldout\ttext\toutput\n"  # output: a conversion made elsewhere (here: the target itself)
        "corpus/p227/p227_003.wav\tcorpus/p225/p225_003.wav\tcorpus/p225/p225_008.wav\t\tcorpus/p225/p225_003.wav\n"
    )
    report = tmp_path / "report"
    r = run(
        "evaluate",
        "conversions",
        pairs,
        "--methods",
        "identity",
        "--eer",
        tmp_path / "eer" / "missing.json",
        "--out",
        report,
    )
    assert (
        r.returncode == 2
        and r.stderr.strip().count("\n") == 0
        and "not an eer.json" in r.stderr
        and not report.exists()
    )
    r = run(
        "evaluate",
        "conversions",
        pairs,
        "--methods",
        "identity",
        "dsp",
        "--eer",
        tmp_path / "eer" / "eer.json",
        "--out",
        report,
    )
    assert r.returncode == 0, r.stderr
    result = json.loads((report / "results.json").read_text())
    identity, dsp, given = result["summary"]["identity"], result["summary"]["dsp"], result["summary"]["given"]
    assert given["sim_target"][0] > 0.99 and given["sv_accept"][0] == 1.0  # the target against itself
    assert identity["wer"][0] == 0.0  # the source against its own transcript
    assert identity["sim_target"][0] == pytest.approx(identity["sim_source_target"][0], abs=0.01)
    assert dsp["f0_error_semitones"][0] < identity["f0_error_semitones"][0]
    assert 1 <= dsp["dnsmos_ovrl"][0] <= 5 and identity["failures"] == dsp["failures"] == 0
    html = (report / "index.html").read_text()
    assert html.count("<audio") == 5 and "eer.png" in html
    for ref in ("summary.csv", "pairs.csv", "eer.png"):
        assert (report / ref).is_file()
    r = run(
        "evaluate",
        "compare",
        report,
        report / "results.json",
        "--methods",
        "identity",
        "dsp",
        "--json",
        tmp_path / "cmp.json",
    )
    assert r.returncode == 0, r.stderr
    compared = json.loads((tmp_path / "cmp.json").read_text())
    assert (
        compared["f0_error_semitones"]["diff"] < 0
        and compared["sim_target"]["pairs"] == 1
        and "f0_error_semitones" in r.stdout
    )
    r = run("evaluate", "compare", report, tmp_path / "nowhere")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "not a results.json" in r.stderr

    shot = tmp_path / "report.png"  # the page as a person sees it
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'chromium'}",
            "--window-size=1300,1400",
            f"--screenshot={shot}",
            (report / "index.html").as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    assert shot.stat().st_size > 50_000


def test_judged_f0_ignores_a_quiet_hum_in_the_pauses():
    sr = 22050
    t = np.arange(sr) / sr
    voice = 0.5 * sum(np.sin(2 * np.pi * 200 * k * t) / k for k in range(1, 6))
    hum = 0.01 * sum(np.sin(2 * np.pi * 65 * k * t) / k for k in range(1, 6))  # about 34 dB down
    wav = np.concatenate([voice, hum, hum, voice, hum, hum]).astype(np.float32)  # more pause than speech
    assert abs(semitones(judged_f0(wav, sr), 200.0)) < 0.3
