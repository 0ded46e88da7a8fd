"""Preprocessing: the feature store, skipping unchanged files, surviving corrupt files and SIGKILL."""

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mediumvc.data.corpus import scan_corpus
from mediumvc.data.store import StoreSettings, item_path, preprocess, read_item, read_manifest
from mediumvc.errors import MediumVCError

pytestmark = pytest.mark.tools("rubberband", "sox")


@pytest.fixture()
def corpus(tmp_path, speech) -> Path:
    root = tmp_path / "corpus"
    for name, path in speech.items():
        spk = name.split("_")[0]
        for copy in range(2):
            (root / spk / "session1").mkdir(parents=True, exist_ok=True)
            shutil.copy(path, root / spk / "session1" / f"{name}_{copy}.wav")
    (root / "p227" / "broken.wav").write_bytes(b"RIFF\x00\x00junk")
    return root


def test_corpus_folder_and_manifest_scans(corpus, tmp_path):
    utts = scan_corpus(corpus)
    assert len(utts) == 9 and {u.speaker for u in utts} == {"p225", "p226", "p227"}
    assert len({u.uid for u in utts}) == 9
    assert len(scan_corpus(corpus, exclude=["p22[67]"])) == 4
    manifest = tmp_path / "m.tsv"
    manifest.write_text(
        "path\tspeaker\n" + "".join(f"corpus/{u.path.relative_to(corpus)}\tset:{u.speaker}\n" for u in utts)
    )
    assert [u.speaker for u in scan_corpus(manifest, include=["set:p225"])] == ["set:p225"] * 4


def test_store_contents_failures_and_reruns(corpus, tmp_path):
    store = tmp_path / "store"
    settings = StoreSettings(psdr_variants=2, psdr_backend="sox", psdr_speakers=("p225",))
    utts = scan_corpus(corpus)
    summary = preprocess(utts, store, settings, workers=2, progress=False)
    assert summary == {"items": 8, "computed": 8, "skipped_unchanged": 0, "failed": 1}
    assert "broken.wav" in (store / "failures.tsv").read_text()
    rows = read_manifest(store)
    assert len(rows) == 8
    p225 = read_item(item_path(store, next(u.uid for u in utts if u.speaker == "p225")))
    assert p225["mel"].shape[1] == 80 and p225["dvector"].shape == (256,)
    assert p225["psdr_mels"].shape == (2, *p225["mel"].shape) and set(p225["psdr_shifts"]) <= set(range(-6, 5))
    assert "psdr_mels" not in read_item(item_path(store, next(u.uid for u in utts if u.speaker == "p226")))
    assert abs(np.linalg.norm(p225["dvector"]) - 1) < 1e-4
    from mediumvc.files import FILE_MODE  # as open() under this umask gives, not mkstemp's 0600

    assert {stat.S_IMODE(p.stat().st_mode) for p in store.rglob("*") if p.is_file()} == {FILE_MODE}

    again = preprocess(utts, store, settings, progress=False)
    assert again["computed"] == 0 and again["skipped_unchanged"] == 8
    for u in utts:  # a copied corpus: new file times, same content -> nothing to redo
        os.utime(u.path, ns=(u.path.stat().st_atime_ns, u.path.stat().st_mtime_ns + 10**9))
    assert preprocess(utts, store, settings, progress=False)["skipped_unchanged"] == 8
    changed = next(u for u in utts if u.speaker == "p226")
    shutil.copy(next(u.path for u in utts if u.speaker == "p227" and "broken" not in u.path.name), changed.path)
    assert preprocess(utts, store, settings, progress=False)["computed"] == 1  # only the changed file


def test_killed_preprocessing_resumes_without_losses_or_duplicates(corpus, tmp_path):
    store = tmp_path / "store"
    cmd = [
        sys.executable,
        "-m",
        "mediumvc",
        "preprocess",
        str(corpus),
        str(store),
        "--workers",
        "1",
        "--psdr-variants",
        "3",
        "--psdr-backend",
        "rubberband",
    ]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    written = lambda: len(list((store / "items").rglob("*.npz"))) if (store / "items").exists() else 0
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and written() == 0:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written = written()
    assert 0 < written < 8, f"the kill landed at {written} of 8 items: the test did not interrupt anything"
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    rows = read_manifest(store)
    assert len(rows) == 8 and len({r["uid"] for r in rows}) == 8
    assert not [p for p in store.rglob("*") if p.name.endswith(".tmp")]
    for r in rows:
        read_item(item_path(store, r["uid"]))  # every item complete and readable


def test_several_corpora_make_one_store(corpus, tmp_path):
    from argparse import Namespace

    from mediumvc.cli.common import scan

    other = tmp_path / "other"
    shutil.copytree(corpus / "p226", other / "joe")
    manifest = tmp_path / "m.tsv"
    manifest.write_text("path\tspeaker\n" + f"{corpus / 'p225' / 'session1' / 'p225_003_0.wav'}\tlj\n")
    found = scan(Namespace(corpus=[str(corpus), str(other), str(manifest)], speakers=None, exclude=["p227"]))
    assert sorted({u.speaker for u in found}) == ["joe", "lj", "p225", "p226"] and len(found) == 6 + 2 + 1
    with pytest.raises(MediumVCError, match="twice"):
        scan(Namespace(corpus=[str(corpus), str(corpus)], speakers=None, exclude=None))
