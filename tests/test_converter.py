"""The Python API end to end with a random tiny model, and bounded-memory chunking of long inputs."""

import numpy as np
import pytest
import torch

from helpers import voiced
from mediumvc.converter import VoiceConverter, overlapping_windows


def test_api_converts_paths_arrays_and_tensors(tiny_converter, speech):
    spk = tiny_converter.embed_speaker([speech["p226_003"]])
    assert spk.shape == (256,)
    src = voiced(1.5)
    original = src.copy()
    for source in (speech["p225_003"], src, torch.from_numpy(src), (src, 22050)):
        wav, sr = tiny_converter.convert(source, spk)
        assert sr == 22050 and wav.dtype == np.float32 and np.all(np.isfinite(wav))
    assert len(wav) == len(src) // 256 * 256
    np.testing.assert_array_equal(src, original)  # the caller's samples are left alone
    wav2, _ = tiny_converter.convert(src, speech["p226_003"])  # a recording instead of a vector
    np.testing.assert_allclose(wav2, wav, atol=1e-5)


def test_windows_cover_everything_with_overlap():
    assert overlapping_windows(100, 200, 20) == [(0, 100)]
    w = overlapping_windows(1000, 300, 50)
    assert w[0][0] == 0 and w[-1][1] == 1000
    assert all(b[0] < a[1] and a[1] - b[0] >= 50 for a, b in zip(w, w[1:]))


def test_long_inputs_are_chunked_and_keep_their_length(tiny_model_dir):
    whole = VoiceConverter.from_pretrained(tiny_model_dir, device="cpu", chunk_seconds=60, vocoder_chunk_seconds=60)
    chunked = VoiceConverter.from_pretrained(tiny_model_dir, device="cpu", chunk_seconds=2.0, vocoder_chunk_seconds=1.0)
    src = voiced(7.3)
    spk = torch.nn.functional.normalize(torch.rand(256), dim=0)
    mel = whole.source_mel(src)
    a, b = whole.convert_mel(mel, spk), chunked.convert_mel(mel, spk)
    assert a.shape == b.shape == (len(src) // 256, 80)
    # windows differ only through the per-window instance norm and attention span
    assert float((a - b).abs().mean()) < 0.05
    wa, wb = whole.vocode(a), chunked.vocode(a)
    assert len(wa) == len(wb) == len(src) // 256 * 256
    snr = 10 * np.log10(np.sum(wa**2) / np.sum((wa - wb) ** 2))
    assert snr > 30, f"vocoder seams cost too much: SNR {snr:.1f} dB"


def test_too_long_source_is_refused_before_any_work(tiny_model_dir, tmp_path):
    import soundfile as sf

    from mediumvc.errors import AudioError

    vc = VoiceConverter.from_pretrained(tiny_model_dir, device="cpu", max_seconds=1.0)
    sf.write(tmp_path / "long.wav", voiced(2.0), 22050)
    with pytest.raises(AudioError, match="above the limit"):
        vc.source_mel(tmp_path / "long.wav")


def test_bundled_model_loads_with_its_card():
    from mediumvc.converter import BUNDLED_MODEL

    vc = VoiceConverter.from_pretrained(None, device="cpu")
    assert vc.model.singlevc is not None
    card = (BUNDLED_MODEL / "README.md").read_text()
    assert "Held out" in card and "CC BY 4.0" in card and "GPL-2" in card  # data, held-out speakers, licences
    size = sum(p.stat().st_size for p in BUNDLED_MODEL.iterdir())
    assert size < 60 * 2**20  # the bundled weights stay small


def test_model_configs_written_before_the_stage_list_still_load(tiny_model_dir, tmp_path):
    """A config.json with each stage as a top-level key runs them in the registry's order."""
    from helpers import with_config_section
    from mediumvc.checkpoint import load_model_dir
    from mediumvc.stages import DetailStage, PitchStage

    old = with_config_section(tiny_model_dir, tmp_path / "old", "pitch", {"lifter": 20, "hnr_db": 30.0})
    raw = __import__("json").loads((old / "config.json").read_text())
    raw["model"].pop("stages")
    raw["model"]["detail"] = {"gain": 0.5, "frames": 9}
    (old / "config.json").write_text(__import__("json").dumps(raw))
    assert load_model_dir(old, "cpu").config.stages == (DetailStage(0.5, 9), PitchStage(20, 30.0))


def test_unknown_stages_are_refused(tiny_model_dir, tmp_path):
    from helpers import with_config_section
    from mediumvc.checkpoint import load_model_dir
    from mediumvc.errors import CheckpointError, MediumVCError

    bad = with_config_section(tiny_model_dir, tmp_path / "bad", "stages", [{"name": "reverb", "wet": 0.3}])
    with pytest.raises(CheckpointError, match="unknown stage 'reverb'"):
        load_model_dir(bad, "cpu")
    with pytest.raises(MediumVCError, match="unknown stage"):
        VoiceConverter.from_pretrained(tiny_model_dir, device="cpu", without=("reverb",))


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_is_bf16_only_where_the_cpu_computes_it(native, monkeypatch, tiny_model_dir):
    from mediumvc import runtime

    monkeypatch.setattr(runtime, "cpu_has_native_bf16", lambda: native)
    expected = "bf16" if native else "fp32"
    assert runtime.check_precision("auto", torch.device("cpu")) == expected
    vc = VoiceConverter.from_pretrained(tiny_model_dir, device="cpu")  # "auto" is the default
    assert vc.precision == expected and vc.vocoder.precision == expected
    assert runtime.check_precision("fp32", torch.device("cpu")) == "fp32"


def test_numpy_blas_runs_on_one_thread_while_converting(tiny_model_dir):
    """Idle BLAS threads spin and take the cores torch needs: conversion keeps numpy's BLAS to one thread."""
    import dataclasses

    from threadpoolctl import threadpool_info

    from mediumvc.stages import Stage

    seen = []

    @dataclasses.dataclass(frozen=True)
    class Spy(Stage):
        name = "spy"

        def __call__(self, mel, context):
            seen.append(set(blas_threads()))
            return mel

    blas_threads = lambda: [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    vc = VoiceConverter.from_pretrained(tiny_model_dir, device="cpu")
    vc.stages = (Spy(),)
    before = blas_threads()
    vc.convert(voiced(1.0), vc.embed_speaker(voiced(1.0, f0=200.0)))
    assert seen == [{1}] and blas_threads() == before  # one thread inside, the caller's setting after
