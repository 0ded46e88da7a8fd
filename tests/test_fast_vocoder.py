"""The fast vocoder: its inverse STFT, pieces that join, distillation from HiFi-GAN V1, and shipping it in a
model directory as `--vocoder fast`."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from helpers import voiced
from mediumvc.checkpoint import load_model_dir, save_part_dir
from mediumvc.converter import VoiceConverter
from mediumvc.errors import CheckpointError, MediumVCError
from mediumvc.mel import MelSpectrogram, framed, normalize_mel
from mediumvc.training.export import export
from mediumvc.vocoder import ISTFTVocoder, ISTFTVocoderConfig, MelVocoder
from mediumvc.vocoder.distill import DistillConfig, distill, load_items, make_batch, phase_loss, student_frames
from mediumvc.vocoder.istft import overlap_add, widened_state

TINY = ISTFTVocoderConfig(dim=32, intermediate=64, layers=2)


def test_inverse_stft_rebuilds_a_signal_from_its_frames_on_the_mel_grid():
    # The frames the mel front end analyses, windowed and overlap-added back: the signal, sample for sample.
    wav = voiced(0.5)
    window = torch.hann_window(1024)
    frames = torch.from_numpy(np.array(framed(wav))).unsqueeze(0) * window
    out = overlap_add(frames * window, window)[0, 0].numpy()
    n = len(wav) // 256 * 256
    assert out.shape == (n,)
    assert np.abs(out - wav[:n]).max() < 1e-4


def test_pieces_with_the_stated_context_join_like_one_piece():
    torch.manual_seed(0)
    generator = ISTFTVocoder(TINY)
    for block in generator.blocks:  # layer scale starts small; make every block matter
        block.gamma.data.fill_(1.0)
    vocoder = MelVocoder(generator, "cpu", "fp32")
    mel = torch.rand(300, 80)
    whole = vocoder(mel, chunk_frames=1000)
    pieces = vocoder(mel, chunk_frames=64)
    assert len(whole) == 300 * 256
    scale = np.abs(whole).max()
    assert np.abs(whole - pieces).max() < 1e-4 * scale
    generator.context_frames = 2  # too little context: the joins differ, so the check above can fail
    assert np.abs(vocoder(mel, chunk_frames=64) - whole).max() > 1e-2 * scale


def test_a_widened_vocoder_computes_the_same_waveform():
    torch.manual_seed(0)
    narrow = ISTFTVocoder(TINY).eval()
    for block in narrow.blocks:
        block.gamma.data.fill_(1.0)
    wide = ISTFTVocoder(ISTFTVocoderConfig(dim=64, intermediate=128, layers=2)).eval()
    wide.load_state_dict(widened_state(narrow.state_dict(), 2))
    mel = torch.randn(1, 80, 50) - 5
    with torch.no_grad():
        a, b = narrow(mel), wide(mel)
    assert a.abs().max() > 1e-3  # not a silent generator
    assert torch.allclose(a, b, atol=1e-5 * float(a.abs().max()) + 1e-7)


def write_teacher_data(root, items=6, frames=120):
    """A prepared folder as prepare.py writes it; the 'teacher' waveform is the one the mel was taken from."""
    root.mkdir()
    rows = ["id\tspeaker\tkind\tframes\tsplit"]
    for i in range(items):
        wav = voiced((frames * 256 + 1) / 22050, f0=120 + 20 * i, seed=i)[: frames * 256]
        mel = normalize_mel(MelSpectrogram()(torch.from_numpy(wav))).numpy()
        np.savez(root / f"item{i}.npz", mel=mel.astype(np.float16), wav=wav.astype(np.float16))
        rows.append(f"item{i}\tspk{i}\treal\t{frames}\t{'val' if i == 0 else 'train'}")
    (root / "index.tsv").write_text("\n".join(rows) + "\n")
    return root


def test_distillation_learns_and_resumes_exactly(tmp_path):
    data = write_teacher_data(tmp_path / "data")
    train, held = load_items(data)
    assert len(train) == 5 and len(held) == 1
    config = DistillConfig(model=TINY, steps=40, batch=4, crop=16, margin=4, ckpt_every=20, eval_every=20, warmup=5)
    lines = []
    ckpt = distill(data, tmp_path / "run", config, log=lines.append)
    log = [json.loads(line) for line in lines if line.startswith("{")]
    assert log[-1]["val_loss"] < log[0]["val_loss"]  # it learns
    assert log[-1]["pesq"] is None or log[-1]["pesq"] > 1.0
    whole = torch.load(ckpt, weights_only=True)["model"]
    # Stopped at step 20 and resumed: the same weights as the run that never stopped.
    distill(data, tmp_path / "split", config, log=lambda _: None, until=20)
    distill(data, tmp_path / "split", config, log=lines.append)
    assert "resumed at step 20" in lines
    resumed = torch.load(tmp_path / "split" / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)


def test_a_discriminator_joins_a_resumed_run_and_resumes_with_it(tmp_path):
    data = write_teacher_data(tmp_path / "data")
    plain = DistillConfig(model=TINY, steps=30, batch=4, crop=16, margin=4, ckpt_every=10, eval_every=30, warmup=5)
    adversarial = DistillConfig(**{**plain.__dict__, "adversarial": 0.1})
    lines = []
    distill(data, tmp_path / "run", plain, log=lines.append, until=10)
    distill(data, tmp_path / "run", adversarial, log=lines.append, until=20)
    assert "the discriminator starts now" in lines
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert state["step"] == 20 and "disc" in state
    distill(data, tmp_path / "run", adversarial, log=lines.append)
    log = [json.loads(line) for line in lines if line.startswith("{")]
    assert log[-1]["disc"] > 0 and log[-1]["adv"] > 0
    # The same 30 steps without stopping at 20: the discriminator's state came back exactly.
    distill(data, tmp_path / "again", plain, log=lambda _: None, until=10)
    distill(data, tmp_path / "again", adversarial, log=lambda _: None)
    a = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "again" / "last.pt", weights_only=True)
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert all(torch.equal(a["disc"][k], b["disc"][k]) for k in a["disc"])


def test_a_run_starts_from_given_weights_and_stops_at_its_time_box(tmp_path):
    data = write_teacher_data(tmp_path / "data")
    config = DistillConfig(model=TINY, steps=30, batch=4, crop=16, margin=4, ckpt_every=30, eval_every=30, warmup=5)
    first = torch.load(distill(data, tmp_path / "first", config, log=lambda _: None), weights_only=True)["model"]
    one_step = DistillConfig(**{**config.__dict__, "steps": 1, "eval_every": 1})
    fresh, continued = [], []
    distill(data, tmp_path / "fresh", one_step, log=fresh.append)
    distill(data, tmp_path / "continued", one_step, log=continued.append, init=first)
    assert json.loads(continued[-1])["val_loss"] < json.loads(fresh[-1])["val_loss"]
    # A time box far shorter than the steps: it stops early, checkpointed and evaluated at the same step.
    endless = DistillConfig(**{**config.__dict__, "steps": 10**6})
    lines = []
    state = torch.load(distill(data, tmp_path / "boxed", endless, log=lines.append, seconds=1.0), weights_only=True)
    assert 0 < state["step"] < 10**6
    assert json.loads(lines[-1])["step"] == state["step"]


def test_the_phase_term_reads_frames_on_the_mel_grid():
    # The spectra of the very frames the mel front end analyses: no phase error; the same one sample late, or
    # with the phases turned, an error.
    wav = voiced(48 * 256 / 22050 + 0.01)
    window = torch.hann_window(1024)
    spectra = lambda w: torch.fft.rfft(torch.from_numpy(np.array(framed(w))).unsqueeze(0) * window)[:, :48]
    target = torch.from_numpy(wav[: 48 * 256]).unsqueeze(0)
    exact = spectra(wav)
    assert float(phase_loss(exact, target)) < 1e-4
    assert float(phase_loss(spectra(np.concatenate([[0.0], wav[:-1]])), target)) > 0.01
    assert float(phase_loss(exact * torch.exp(torch.tensor(1j)), target)) > 0.3


def test_distillation_with_the_phase_term_brings_the_phases_closer(tmp_path):
    data = write_teacher_data(tmp_path / "data")
    config = DistillConfig(model=TINY, steps=40, batch=4, crop=16, margin=4, ckpt_every=40, eval_every=40, warmup=5)
    mel, target = make_batch(load_items(data)[0], config, step=10**6)
    errors, lines = {}, []
    for weight in (0.0, 1.0):
        run = DistillConfig(**{**config.__dict__, "phase": weight})
        model = ISTFTVocoder(TINY)
        state = torch.load(distill(data, tmp_path / f"run{weight}", run, log=lines.append), weights_only=True)
        model.load_state_dict(state["model"])
        with torch.no_grad():
            spectra, _ = student_frames(model, mel, config.margin)
        errors[weight] = float(phase_loss(spectra, target))
    assert "phase" in json.loads(lines[-1])  # logged when it is on
    assert errors[1.0] < errors[0.0] - 0.02


def test_distillation_refuses_empty_data(tmp_path):
    with pytest.raises(MediumVCError, match="prepare.py"):
        distill(tmp_path, tmp_path / "run")


@pytest.fixture(scope="module")
def fast_vocoder_dir(tmp_path_factory):
    torch.manual_seed(1)
    return save_part_dir(tmp_path_factory.mktemp("parts") / "fast", "vocoder", TINY, ISTFTVocoder(TINY).state_dict())


def test_a_model_directory_ships_the_fast_vocoder_beside_the_default(tiny_model_dir, fast_vocoder_dir, tmp_path):
    out = export(tiny_model_dir, tmp_path / "with-fast", fast_vocoder=fast_vocoder_dir)
    assert load_model_dir(out).config.fast_vocoder == TINY
    fast = VoiceConverter.from_pretrained(out, device="cpu", precision="fp32", vocoder="fast")
    assert isinstance(fast.vocoder.generator, ISTFTVocoder)
    default = VoiceConverter.from_pretrained(out, device="cpu", precision="fp32")
    assert not isinstance(default.vocoder.generator, ISTFTVocoder)  # HiFi-GAN V1 stays the default
    source, target = voiced(1.0, f0=120), voiced(1.0, f0=220, seed=1)
    wav, rate = fast.convert(source, target)
    assert rate == 22050
    assert wav.shape == (len(source) // 256 * 256,) and np.isfinite(wav).all()
    # Written again without naming it, the directory keeps its fast vocoder.
    again = export(out, tmp_path / "again")
    assert load_model_dir(again).fast_vocoder is not None


def test_asking_for_a_fast_vocoder_a_model_does_not_ship(tiny_model_dir, tmp_path):
    with pytest.raises(MediumVCError, match="ships no fast vocoder"):
        VoiceConverter.from_pretrained(tiny_model_dir, device="cpu", vocoder="fast")
    with pytest.raises(MediumVCError, match="unknown vocoder"):
        VoiceConverter.from_pretrained(tiny_model_dir, device="cpu", vocoder="vocos")
    from helpers import with_config_section

    broken = with_config_section(tiny_model_dir, tmp_path / "broken", "fast_vocoder", TINY.__dict__)
    with pytest.raises(CheckpointError, match=r"fast_vocoder\.\*"):
        load_model_dir(broken)  # sizes without weights


def test_cli_says_in_one_line_when_the_model_has_no_fast_vocoder(tiny_model_dir, tmp_path, speech):
    run = subprocess.run(
        [sys.executable, "-m", "mediumvc", "convert", str(speech["p225_003"]), "-t", str(speech["p226_003"]),
         "-o", str(tmp_path / "out.wav"), "--model", str(tiny_model_dir), "--vocoder", "fast"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode != 0
    assert "ships no fast vocoder" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "out.wav").exists()


def test_the_server_converts_with_the_fast_vocoder_when_asked(tiny_model_dir, fast_vocoder_dir, tmp_path, speech):
    from mediumvc.serve.service import ConversionService, ServeConfig

    out = export(tiny_model_dir, tmp_path / "with-fast", fast_vocoder=fast_vocoder_dir)
    service = ConversionService(ServeConfig(models={"m": str(out)}, concurrency=1))
    result = service.convert(speech["p225_003"], [speech["p226_003"]], "m", "fp32", vocoder="fast")
    assert len(result.wav) > 0 and np.isfinite(result.wav).all()
    assert isinstance(service.converter("m", "fp32", "fast").vocoder.generator, ISTFTVocoder)
    assert not isinstance(service.converter("m", "fp32").vocoder.generator, ISTFTVocoder)
