"""Training: exact resume, surviving SIGKILL, export to inference directories, the MediumVC stage."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from mediumvc.data.corpus import scan_corpus
from mediumvc.data.store import StoreSettings, preprocess
from mediumvc.errors import MediumVCError
from mediumvc.training.export import export
from mediumvc.training.train import load_train_config, train

pytestmark = pytest.mark.tools("sox")

STEPS = ["trainer.val_every=4", "trainer.ckpt_every=4", "trainer.threads=1", "trainer.log_every=1"]


@pytest.fixture(scope="module")
def store(tmp_path_factory, speech) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    for name, path in speech.items():
        (root / name.split("_")[0]).mkdir(exist_ok=True)
        os.symlink(path, root / name.split("_")[0] / f"{name}.wav")
    out = tmp_path_factory.mktemp("store")
    preprocess(
        scan_corpus(root),
        out,
        StoreSettings(psdr_variants=2, psdr_backend="sox", psdr_speakers=("p225",)),
        progress=False,
    )
    return out


def tiny_singlevc(store) -> list[str]:
    """The `--set` values of a tiny SingleVC run on the store's p225."""
    return [
        f"data.store={store}",
        "data.speakers=[p225]",
        "data.batch_size=2",
        "data.crop_frames=48",
        "data.val_items=1",
        "model=tiny",
    ]


def singlevc_config(store, *extra):
    return load_train_config(None, [*tiny_singlevc(store), *STEPS, *extra])


def train_command(store, out) -> list[str]:
    """`mediumvc train singlevc` in a subprocess on the tiny model; the caller adds the rest of `--set`."""
    return [
        sys.executable,
        "-m",
        "mediumvc",
        "train",
        "singlevc",
        "--out",
        str(out),
        "--set",
        *tiny_singlevc(store),
    ]


def weights(ckpt: Path) -> dict:
    return torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]


def test_last_checkpoint_holds_the_final_step(store, tmp_path):
    """max_steps between two periodic checkpoints (6, every 4): last.ckpt still ends at step 6."""
    last = train("singlevc", singlevc_config(store, "trainer.max_steps=6"), tmp_path / "run")
    assert torch.load(last, weights_only=True)["global_step"] == 6
    assert (tmp_path / "run" / "checkpoints" / "step-00000004.ckpt").is_file()


@pytest.mark.slow
def test_resume_continues_exactly(store, tmp_path):
    straight = train("singlevc", singlevc_config(store, "trainer.max_steps=8"), tmp_path / "a")
    train("singlevc", singlevc_config(store, "trainer.max_steps=4"), tmp_path / "b")
    resumed = train("singlevc", singlevc_config(store, "trainer.max_steps=8"), tmp_path / "b", resume=True)
    a, b = weights(straight), weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert torch.load(resumed, weights_only=True)["global_step"] == 8
    # each session keeps its own CSV: resuming does not rewrite the learning curve
    assert {p.name for p in (tmp_path / "b" / "logs" / "csv").iterdir()} == {"from-step-00000000", "from-step-00000004"}
    # validation ran: best checkpoint, logged losses, vocoded samples and TensorBoard audio + mel images
    run = tmp_path / "a"
    assert (run / "checkpoints" / "best.ckpt").is_file()
    metrics = (run / "logs" / "csv" / "from-step-00000000" / "metrics.csv").read_text()
    assert "train/loss" in metrics and "val/loss" in metrics
    assert {p.name for p in (run / "samples").iterdir()} >= {"step-00000008-predicted.wav", "step-00000008-target.wav"}
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run / "logs"), size_guidance={"audio": 0, "images": 0}).Reload().Tags()
    assert "val/predicted" in events["audio"] and "val/predicted_mel" in events["images"]
    with pytest.raises(Exception, match="--resume"):
        train("singlevc", singlevc_config(store, "trainer.max_steps=8"), tmp_path / "b")  # never clobbers a run


@pytest.mark.slow
def test_sigkill_then_resume_reaches_the_same_step(store, tmp_path):
    out = tmp_path / "run"
    args = [
        *train_command(store, out),
        "trainer.max_steps=400",
        *STEPS,
    ]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not (out / "checkpoints" / "step-00000008.ckpt").exists():
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "training ended before it could be killed"
    args[args.index("trainer.max_steps=400")] = "trainer.max_steps=20"
    done = subprocess.run([*args, "--resume"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    last = out / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["global_step"] == 20
    assert not list((out / "checkpoints").glob("*.tmp"))
    exported = export(last, tmp_path / "singlevc")
    from mediumvc.checkpoint import load_part_dir

    assert load_part_dir(exported, "singlevc").net(torch.rand(1, 30, 80)).shape == (1, 30, 80)


@pytest.mark.slow
def test_mediumvc_stage_trains_on_an_exported_singlevc_and_converts(store, tmp_path, speech):
    svc_run = train("singlevc", singlevc_config(store, "trainer.max_steps=4"), tmp_path / "svc")
    svc_dir = export(svc_run, tmp_path / "svc_model")
    config = load_train_config(
        None,
        [
            f"data.store={store}",
            "data.batch_size=2",
            "data.crop_frames=48",
            "data.val_items=1",
            "model=tiny",
            f"singlevc={svc_dir}",
            "trainer.max_steps=8",
            *STEPS,
        ],
    )
    last = train("mediumvc", config, tmp_path / "mvc")
    model_dir = export(last, tmp_path / "model")
    from mediumvc.checkpoint import load_model_dir
    from mediumvc.converter import VoiceConverter
    from mediumvc.stages import MatchStage

    staged = export(
        last, tmp_path / "staged", stages=[MatchStage(0.5, 4, 9)]
    )  # converter stages ride along in config.json
    assert load_model_dir(staged, "cpu").config.stages == (MatchStage(0.5, 4, 9),)
    assert load_model_dir(model_dir, "cpu").config.stages == ()

    vc = VoiceConverter.from_pretrained(model_dir, device="cpu")
    wav, sr = vc.convert(speech["p225_003"], speech["p226_003"])
    assert sr == 22050 and len(wav) > 0
    # SingleVC stayed frozen: its exported weights are the ones MediumVC trained with
    from mediumvc.checkpoint import load_part_dir

    frozen = load_part_dir(svc_dir, "singlevc").net.state_dict()
    assert all(torch.equal(v, vc.model.singlevc.state_dict()[k]) for k, v in frozen.items())
    with pytest.raises(Exception, match="singlevc"):
        train("mediumvc", load_train_config(None, [f"data.store={store}", "model=tiny"]), tmp_path / "x")

    # precomputed SSIF: SingleVC's eval-mode output on whole utterances, read in place of running it
    from mediumvc.data.store import item_path, read_item, read_manifest
    from mediumvc.training.ssif import precompute_ssif, read_ssif

    summary = precompute_ssif(store, svc_dir, tmp_path / "ssif", progress=False)
    assert summary["computed"] == summary["items"] == len(read_manifest(store))
    uid = read_manifest(store)[0]["uid"]
    mel = torch.from_numpy(read_item(item_path(store, uid))["mel"].astype("float32"))
    expected = vc.model.ssif(mel[None])[0]
    assert (
        torch.from_numpy(read_ssif(tmp_path / "ssif", uid)[0].astype("float32")) - expected
    ).abs().max() < 2e-3  # fp16 storage
    assert (
        precompute_ssif(store, svc_dir, tmp_path / "ssif", progress=False)["computed"] == 0
    )  # a re-run completes, never redoes
    with pytest.raises(Exception, match="another SingleVC"):
        precompute_ssif(store, svc_dir, tmp_path / "ssif", variants=2, progress=False)
    fast = load_train_config(
        None,
        [
            f"data.store={store}",
            "data.batch_size=2",
            "data.crop_frames=48",
            "data.val_items=1",
            "model=tiny",
            f"singlevc={svc_dir}",
            f"data.ssif={tmp_path / 'ssif'}",
            "trainer.max_steps=4",
            *STEPS,
        ],
    )
    assert torch.load(train("mediumvc", fast, tmp_path / "mvc_ssif"), weights_only=True)["global_step"] == 4
    other = export(
        train("singlevc", singlevc_config(store, "trainer.max_steps=2", "trainer.seed=1"), tmp_path / "svc2"),
        tmp_path / "svc2_model",
    )
    fast.singlevc = str(other)
    with pytest.raises(Exception, match="another SingleVC"):
        train("mediumvc", fast, tmp_path / "mvc_ssif2")


def test_a_trained_singlevc_brings_its_own_sizes(store, tmp_path):
    """`singlevc: DIR` of other widths than the model preset's (a paper-width SingleVC under a small MediumVC)."""
    from mediumvc.checkpoint import save_part_dir
    from mediumvc.config import load_config
    from mediumvc.nets import SingleVC
    from mediumvc.training.train import build_task

    wide = load_config("cpu-small").singlevc
    assert wide != load_config("tiny").singlevc
    svc_dir = save_part_dir(tmp_path / "svc", "singlevc", wide, SingleVC(wide).state_dict())
    config = load_train_config(None, [f"data.store={store}", "model=tiny", f"singlevc={svc_dir}"])
    net = build_task("mediumvc", config).net
    assert net.singlevc.config == wide
    assert net.config == load_config("tiny").mediumvc  # the rest keeps the preset's sizes


def test_ranks_read_different_batches():
    from mediumvc.training.data import BatchStream

    items = [
        {
            "uid": str(i),
            "speaker": f"s{i % 3}",
            "mel": torch.rand(60 + i, 80).numpy(),
            "dvector": torch.rand(256).numpy(),
            "psdr": None,
        }
        for i in range(12)
    ]
    single = BatchStream(items, "mediumvc", 2, 32, seed=0)
    ranks = [iter(BatchStream(items, "mediumvc", 2, 32, seed=0, rank=r, world=2)) for r in range(2)]
    firsts = [next(r)["input"] for r in ranks]
    assert torch.equal(firsts[0], single.batch(0)["input"]) and torch.equal(firsts[1], single.batch(1)["input"])
    assert torch.equal(next(ranks[0])["input"], single.batch(2)["input"])


def test_input_warp_moves_formants_of_singlevc_inputs_only():
    """data.input_warp: a spectral peak at 1 kHz lands at alpha x 1 kHz; targets are never warped."""
    import numpy as np

    from mediumvc.training.augment import _mel_centres, warp_mel
    from mediumvc.training.data import BatchStream

    centres = _mel_centres()
    peak = np.zeros((3, 80), np.float32)
    peak[:, np.argmin(abs(centres - 1000))] = 1.0
    for alpha in (0.85, 1.2):
        out = warp_mel(peak, alpha)
        assert abs((out[0] * centres).sum() / out[0].sum() - alpha * 1000) < 40
    assert np.array_equal(warp_mel(peak, 1.0), peak)
    items = [
        {
            "uid": str(i),
            "speaker": "joe",
            "mel": np.random.default_rng(i).random((60, 80), np.float32),
            "dvector": np.zeros(256, np.float32),
            "psdr": np.random.default_rng(i + 9).random((2, 60, 80), np.float32),
        }
        for i in range(4)
    ]
    plain, warped = (BatchStream(items, "singlevc", 2, 32, seed=0, input_warp=w).batch(0) for w in (None, (0.85, 1.2)))
    assert torch.equal(plain["target"], warped["target"]) and not torch.allclose(plain["input"], warped["input"])
    assert BatchStream(items, "mediumvc", 2, 32, seed=0, input_warp=(0.85, 1.2)).input_warp is None


@pytest.mark.slow
def test_two_process_ddp_on_cpu(store, tmp_path):
    out = tmp_path / "ddp"
    args = [
        *train_command(store, out),
        "trainer.max_steps=6",
        "trainer.val_every=3",
        "trainer.ckpt_every=3",
        "trainer.threads=1",
        "trainer.strategy=ddp",
        "trainer.devices=2",
        "trainer.accelerator=cpu",
    ]
    done = subprocess.run(
        args, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"}, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Starting with 2 processes" in done.stderr + done.stdout
    assert done.stdout.count("training stopped") == 1  # rank 0 speaks
    ckpt = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 6
    names = {p.name for p in (out / "checkpoints").iterdir()}
    assert {"last.ckpt", "step-00000003.ckpt", "step-00000006.ckpt"} <= names and not [
        n for n in names if n.endswith(".tmp")
    ]


@pytest.mark.slow
def test_dvector_ge2e_training_reports_eer_and_exports(tmp_path, speech):
    root = tmp_path / "corpus"
    for name, path in speech.items():  # four "speakers", three copies each (random crops differ)
        (root / name).mkdir(parents=True)
        for copy in range(3):
            os.symlink(path, root / name / f"{copy}.wav")
    store = tmp_path / "store"
    preprocess(scan_corpus(root), store, StoreSettings(dvector_mels=True), progress=False)
    config = load_train_config(
        None,
        [
            f"data.store={store}",
            "data.speakers_per_batch=2",
            "data.utterances_per_speaker=2",
            "data.val_speakers=2",
            "optim.lr=0.01",
            "trainer.max_steps=6",
            *STEPS,
        ],
    )
    last = train("dvector", config, tmp_path / "dv")
    metrics = (tmp_path / "dv" / "logs" / "csv" / "from-step-00000000" / "metrics.csv").read_text()
    assert "val/eer" in metrics and "val/threshold" in metrics and "train/loss" in metrics
    from mediumvc.checkpoint import load_part_dir
    from mediumvc.speaker import DVectorEncoder

    encoder = DVectorEncoder(load_part_dir(export(last, tmp_path / "dvector_model"), "dvector").net)
    e = encoder.embed(speech["p226_003"])
    assert e.shape == (256,) and abs(float(e.norm()) - 1) < 1e-5
    # the trained encoder can judge: EER with --encoder dvector
    import json

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mediumvc",
            "evaluate",
            "eer",
            str(root),
            "--trials",
            "20",
            "--encoder",
            "dvector",
            "--dvector",
            str(tmp_path / "dvector_model"),
            "--out",
            str(tmp_path / "eer"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((tmp_path / "eer" / "eer.json").read_text())["encoder"] == "dvector"

    # MediumVC on our own d-vector, end to end: a store embedded with it -> train -> export -> convert
    from mediumvc.checkpoint import load_model_dir

    dv_dir = tmp_path / "dvector_model"
    dv_store = tmp_path / "store_dv"
    preprocess(scan_corpus(root), dv_store, StoreSettings(encoder="dvector"), progress=False, dvector_dir=dv_dir)
    plain_args = [
        "data.batch_size=2",
        "data.crop_frames=48",
        "data.val_items=1",
        "model=tiny",
        "singlevc=untrained",
        "trainer.max_steps=2",
        *STEPS,
    ]
    mvc_args = [*plain_args, f"dvector={dv_dir}"]
    model_dir = export(
        train("mediumvc", load_train_config(None, [f"data.store={dv_store}", *mvc_args]), tmp_path / "mvc"),
        tmp_path / "mvc_model",
    )
    loaded = load_model_dir(model_dir)
    trained = load_part_dir(dv_dir, "dvector").net
    assert loaded.config.speaker_encoder == "dvector"
    assert all(torch.equal(a, b) for a, b in zip(loaded.dvector.state_dict().values(), trained.state_dict().values()))
    out = tmp_path / "converted.wav"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mediumvc",
            "convert",
            str(speech["p225_003"]),
            "--target",
            str(speech["p226_003"]),
            "--model",
            str(model_dir),
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=600,
    )
    assert done.returncode == 0 and out.is_file(), done.stderr[-2000:]
    # d-vectors from another encoder than the model's are refused, both ways
    with pytest.raises(Exception, match="not embedded with the d-vector"):
        train("mediumvc", load_train_config(None, [f"data.store={store}", *mvc_args]), tmp_path / "wrong1")
    with pytest.raises(Exception, match="set `dvector: DIR`"):
        train("mediumvc", load_train_config(None, [f"data.store={dv_store}", *plain_args]), tmp_path / "wrong2")


def test_dvector_groups_can_split_long_recordings():
    """data.split_utterances: one long recording counts as several segment-long utterances."""
    import numpy as np

    from mediumvc.training.dvector import group_by_speaker

    long = np.arange(5 * 160 + 30, dtype=np.float32)[:, None].repeat(40, 1)
    items = [
        {"uid": "a", "speaker": "one_long", "dvector_mel": long},
        {"uid": "b", "speaker": "two_short", "dvector_mel": long[:170]},
        {"uid": "c", "speaker": "two_short", "dvector_mel": long[:160]},
    ]
    assert set(group_by_speaker(items, 160, 2)) == {"two_short"}
    pieces = group_by_speaker(items, 160, 2, split=True)["one_long"]
    assert len(pieces) == 5 and min(len(p) for p in pieces) >= 160 and np.array_equal(np.concatenate(pieces), long)


def test_eer_on_known_cases():
    import numpy as np

    from mediumvc.speaker.eer import equal_error_rate

    eer, threshold = equal_error_rate(np.array([0.9, 0.8, 0.3, 0.2]), np.array([1, 1, 0, 0]))
    assert eer == 0.0 and 0.3 < threshold <= 0.8
    eer, _ = equal_error_rate(np.array([0.1, 0.2, 0.8, 0.9]), np.array([1, 1, 0, 0]))
    assert eer == 1.0
    rng = np.random.default_rng(0)
    scores = np.r_[rng.normal(1, 1, 20000), rng.normal(-1, 1, 20000)]
    eer, threshold = equal_error_rate(scores, np.r_[np.ones(20000), np.zeros(20000)])
    assert abs(eer - 0.1587) < 0.01 and abs(threshold) < 0.05  # Phi(-1) for unit Gaussians 2 apart


def test_config_overrides_parse_numbers(tmp_path):
    (tmp_path / "run.yaml").write_text("optim:\n  lr: 1e-3\ndata:\n  store: 2e5-store\n")
    config = load_train_config(tmp_path / "run.yaml", ["optim.warmup_steps=300", "trainer.max_steps=2e3"])
    assert config.optim.lr == 1e-3 and config.trainer.max_steps == 2000 and config.data.store == "2e5-store"
    with pytest.raises(Exception, match="unknown key"):
        load_train_config(None, ["optim.learning_rate=1e-3"])
    assert load_train_config(None, ["loss.adversarial=2e-2"]).loss.adversarial_on
    with pytest.raises(MediumVCError, match="adversarial and feature_matching must be >= 0"):
        load_train_config(None, ["loss.feature_matching=-1"])


def trainable(module: torch.nn.Module) -> list[str]:
    return [n for n, p in module.named_parameters() if p.requires_grad]


@pytest.mark.slow
def test_init_starts_from_trained_weights(store, tmp_path):
    """`init:` (fine-tuning) copies trained weights from a checkpoint or an exported directory."""
    from mediumvc.checkpoint import fold_weight_norm_state, load_part_dir
    from mediumvc.training.init import init_weights
    from mediumvc.training.train import build_task

    ckpt = train("singlevc", singlevc_config(store, "trainer.max_steps=4"), tmp_path / "svc")
    svc_dir = export(ckpt, tmp_path / "svc_model")
    trained = load_part_dir(svc_dir, "singlevc").net.state_dict()
    plain = lambda net: fold_weight_norm_state({k: v.detach() for k, v in net.state_dict().items()})
    for source in (ckpt, svc_dir):
        task = build_task("singlevc", singlevc_config(store, "trainer.seed=5"))
        assert not torch.equal(
            plain(task.net)["mel_linear2.weight"], trained["mel_linear2.weight"]
        )  # a fresh init differs
        fresh = trainable(task)
        init_weights(task.net, "singlevc", source)
        got = plain(task.net)
        assert all(torch.allclose(got[k], v, atol=1e-6) for k, v in trained.items())
        assert trainable(task) == fresh  # every weight still trains, in the order a resumed run rebuilds

    # MediumVC: content encoder + decoder come from `init`, SingleVC from `singlevc:`
    mvc_args = [
        f"data.store={store}",
        "data.batch_size=2",
        "data.crop_frames=48",
        "data.val_items=1",
        "model=tiny",
        f"singlevc={svc_dir}",
        *STEPS,
    ]
    mvc_dir = export(
        train("mediumvc", load_train_config(None, [*mvc_args, "trainer.max_steps=2"]), tmp_path / "mvc"),
        tmp_path / "mvc_model",
    )
    fine = train(
        "mediumvc",
        load_train_config(
            None, [*mvc_args, "trainer.max_steps=1", "optim.lr=0", "optim.weight_decay=0", f"init={mvc_dir}"]
        ),
        tmp_path / "fine",
    )
    from mediumvc.checkpoint import load_model_dir

    before = load_model_dir(mvc_dir).model.state_dict()
    after = load_model_dir(export(fine, tmp_path / "fine_model")).model.state_dict()
    assert all(torch.allclose(after[k], v, atol=1e-5) for k, v in before.items())  # lr 0: the init is what it saved
    # a speaker EQ the source lacks starts as the identity; one it has is copied
    eq_net = build_task("mediumvc", load_train_config(None, [*mvc_args, "model=tiny"])).net
    from mediumvc.nets.mediumvc import SpeakerEQ

    eq_net.speaker_eq = SpeakerEQ(eq_net.config.speaker_dim, eq_net.config.n_mels)
    fresh = trainable(eq_net)
    init_weights(eq_net, "mediumvc", mvc_dir)
    assert trainable(eq_net) == fresh
    assert not eq_net.speaker_eq.proj.weight.any()
    with pytest.raises(Exception, match="other sizes"):
        init_weights(build_task("singlevc", singlevc_config(store, "model=cpu-small")).net, "singlevc", svc_dir)
    with pytest.raises(Exception, match="not a mediumvc training checkpoint"):
        init_weights(build_task("mediumvc", load_train_config(None, mvc_args)).net, "mediumvc", ckpt)


def test_online_psdr_shifts_crops_in_place(store, tmp_path, monkeypatch):
    """data.psdr_online: SingleVC inputs shifted while training, aligned with the stored target frames."""
    import numpy as np

    from mediumvc.training.augment import OnlinePSDR
    from mediumvc.training.data import BatchStream, DataConfig, load_items

    items = load_items(
        DataConfig(store=str(store), speakers=["p226"], psdr_online="librosa"), need_psdr=True
    )  # p226: no stored variants
    item, window = items[0], slice(10, 58)
    with (
        monkeypatch.context() as m
    ):  # the shifter as the identity: the recomputed crop is the stored mel, frame for frame
        m.setattr("mediumvc.psdr.pitch_shift", lambda wav, sr, semitones, backend: wav)
        same = OnlinePSDR("librosa")(item, window, 3)
    np.testing.assert_allclose(same, item["mel"][window].astype(np.float32), atol=2e-3)
    up = OnlinePSDR("librosa")(item, window, 4)
    assert up.shape == same.shape and np.abs(up - same).mean() > 0.01
    # a batch is a function of (seed, index), shifts included: a resumed run sees the same inputs
    stream = lambda: BatchStream(items, "singlevc", 2, 48, seed=3, psdr_online=("librosa", -6, 4))
    a, b = stream().batch(5), stream().batch(5)
    assert a["input"].shape == a["target"].shape == (2, 48, 80)
    assert torch.equal(a["input"], b["input"]) and not torch.equal(a["input"], a["target"])
    # a real run on a speaker the store has no variants for
    ckpt = train(
        "singlevc",
        load_train_config(
            None,
            [
                f"data.store={store}",
                "data.speakers=[p226]",
                "data.batch_size=2",
                "data.crop_frames=48",
                "data.val_items=1",
                "model=tiny",
                *STEPS,
                "trainer.max_steps=2",
                "data.psdr_online=librosa",
            ],
        ),
        tmp_path / "online",
    )
    assert torch.load(ckpt, weights_only=True)["global_step"] == 2
    with pytest.raises(Exception, match="psdr_online"):
        load_items(DataConfig(store=str(store), speakers=["p226"]), need_psdr=True)


@pytest.mark.slow
def test_adversarial_loss_trains_a_discriminator_resumes_exactly_and_never_ships(store, tmp_path):
    adv = ["loss.adversarial=0.1", "loss.feature_matching=0.2", "loss.disc_channels=8"]
    straight = train("singlevc", singlevc_config(store, "trainer.max_steps=8", *adv), tmp_path / "a")
    train("singlevc", singlevc_config(store, "trainer.max_steps=4", *adv), tmp_path / "b")
    resumed = train("singlevc", singlevc_config(store, "trainer.max_steps=8", *adv), tmp_path / "b", resume=True)
    a, b = weights(straight), weights(resumed)
    assert any(k.startswith("disc.") for k in a)
    assert all(torch.equal(a[k], b[k]) for k in a), "a resumed adversarial run drifted from an uninterrupted one"
    ckpt = torch.load(straight, weights_only=True)
    assert ckpt["global_step"] == 8 and ckpt["disc_optimizer"]["state"], "the discriminator's optimiser never stepped"
    plain = weights(train("singlevc", singlevc_config(store, "trainer.max_steps=8"), tmp_path / "c"))
    assert not torch.equal(a["net.mel_linear2.weight"], plain["net.mel_linear2.weight"]), (
        "the adversarial terms changed nothing"
    )
    metrics = (tmp_path / "a" / "logs" / "csv" / "from-step-00000000" / "metrics.csv").read_text()
    assert "train/disc" in metrics and "train/fm" in metrics
    from safetensors.torch import load_file

    exported = export(straight, tmp_path / "singlevc")
    assert not [k for k in load_file(exported / "model.safetensors") if "disc" in k]
    # switched off when resumed: the discriminator's weights are dropped, training goes on
    more = train("singlevc", singlevc_config(store, "trainer.max_steps=10"), tmp_path / "b", resume=True)
    assert torch.load(more, weights_only=True)["global_step"] == 10 and not any(
        k.startswith("disc.") for k in weights(more)
    )


@pytest.mark.slow
def test_source_detail_sees_warped_target_copies_while_training_and_the_source_when_converting(store, tmp_path, speech):
    """model.mediumvc.source_detail: the source's fast changes join the content through a zero-initialised
    convolution; training batches carry a frequency-warped copy of the target, never the target itself."""
    import numpy as np
    import yaml

    from mediumvc.checkpoint import load_model_dir
    from mediumvc.config import CONFIG_DIR, load_config
    from mediumvc.converter import VoiceConverter
    from mediumvc.mel import fast_changes
    from mediumvc.nets import MediumVC
    from mediumvc.nets.mediumvc import MediumVCConfig
    from mediumvc.training.data import BatchStream

    # the network: starts as the one without it; reads the detail mel it is given, by default the source
    plain_cfg = load_config("tiny").mediumvc
    with_cfg = MediumVCConfig(**{**plain_cfg.__dict__, "source_detail": 5})
    torch.manual_seed(0)
    plain, detailed = MediumVC(plain_cfg).eval(), MediumVC(with_cfg).eval()
    detailed.load_state_dict(plain.state_dict(), strict=False)
    mel, other, spk = torch.rand(1, 40, 80), torch.rand(1, 40, 80), torch.randn(1, 256)
    assert torch.equal(plain(mel, spk), detailed(mel, spk))
    with torch.no_grad():
        detailed.detail_in.weight.normal_(std=0.1)
    assert torch.equal(detailed(mel, spk), detailed.from_ssif(mel, spk, mel))
    assert not torch.allclose(detailed(mel, spk), detailed(mel, spk, detail_mel=other))
    assert torch.allclose(
        detailed(mel, spk, detail_mel=other + 0.3), detailed(mel, spk, detail_mel=other), atol=1e-5
    )  # only fast changes
    with pytest.raises(ValueError, match="detail mel"):
        detailed.from_ssif(mel, spk)
    with pytest.raises(ValueError, match="odd"):
        MediumVCConfig(**{**plain_cfg.__dict__, "source_detail": 4})
    assert torch.allclose(fast_changes(torch.stack([mel[0], other[0]]), 5)[1], fast_changes(other[0], 5))

    # the batches: a warped copy of each target (crops unchanged), only for MediumVC with it on
    items = [
        {
            "uid": str(i),
            "speaker": "s",
            "mel": np.random.default_rng(i).random((60, 80), np.float32),
            "dvector": np.zeros(256, np.float32),
        }
        for i in range(3)
    ]
    off, on = (
        BatchStream(items, "mediumvc", 2, 32, seed=0).batch(0),
        BatchStream(items, "mediumvc", 2, 32, seed=0, detail_warp=(0.85, 1.2)).batch(0),
    )
    assert "detail_mel" not in off and torch.equal(off["target"], on["target"])
    assert on["detail_mel"].shape == on["target"].shape and not torch.allclose(on["detail_mel"], on["target"])
    assert BatchStream(items, "singlevc", 2, 32, seed=0, detail_warp=(0.85, 1.2)).detail_warp is None

    # trained through the real loop, exported, converting
    cfg_path = tmp_path / "tiny-detail.yaml"
    raw = yaml.safe_load((CONFIG_DIR / "tiny.yaml").read_text())
    raw["model"]["mediumvc"]["source_detail"] = 5
    cfg_path.write_text(yaml.safe_dump(raw))
    svc_dir = export(
        train("singlevc", singlevc_config(store, "trainer.max_steps=2"), tmp_path / "svc"), tmp_path / "svc_model"
    )
    args = [
        f"data.store={store}",
        "data.batch_size=2",
        "data.crop_frames=48",
        "data.val_items=1",
        f"model={cfg_path}",
        f"singlevc={svc_dir}",
        "trainer.max_steps=4",
        *STEPS,
    ]
    model_dir = export(train("mediumvc", load_train_config(None, args), tmp_path / "mvc"), tmp_path / "model")
    model = load_model_dir(model_dir, "cpu").model
    assert model.config.source_detail == 5 and model.detail_in.weight.abs().sum() > 0  # it learned from zero
    wav, sr = VoiceConverter.from_pretrained(model_dir, device="cpu").convert(speech["p225_003"], speech["p226_003"])
    assert sr == 22050 and len(wav) > 0 and np.isfinite(wav).all()
    with pytest.raises(MediumVCError, match="detail_warp"):
        train("mediumvc", load_train_config(None, [*args, "data.detail_warp=[1.2, 0.85]"]), tmp_path / "bad")
    # the training step feeds the batch's warped copy, not the source it would default to
    from mediumvc.training.train import build_task

    task = build_task("mediumvc", load_train_config(None, args)).eval()
    with torch.no_grad():
        task.net.detail_in.weight.normal_(std=0.1)
    batch = {
        **{k: v[:1] for k, v in on.items()},
        "dvector": torch.randn(1, 256),
    }  # (a zero d-vector would erase the content)
    assert not torch.equal(task.predict_batch(batch), task.predict_batch({**batch, "detail_mel": batch["input"]}))


def test_content_loss_trains_beside_l1_and_needs_its_model(store, tmp_path):
    from mediumvc.checkpoint import save_part_dir
    from mediumvc.content.model import ContentModel, ContentModelConfig

    config = ContentModelConfig(channels=16, layers=1, embed_dim=4)
    content_dir = save_part_dir(tmp_path / "content", "content", config, ContentModel(config).state_dict())
    last = train(
        "singlevc",
        singlevc_config(store, "trainer.max_steps=4", "loss.content=0.5", f"loss.content_model={content_dir}"),
        tmp_path / "run",
    )
    metrics = next((tmp_path / "run" / "logs").rglob("metrics.csv")).read_text()
    assert "train/content" in metrics.splitlines()[0]
    assert not any(k.startswith(("content", "_content")) for k in weights(last))  # never in the checkpoint
    with pytest.raises(MediumVCError, match="content_model"):
        singlevc_config(store, "loss.content=0.5")


def mel_items(speakers: list[str], psdr: bool = True) -> list[dict]:
    rng = np.random.default_rng(0)
    return [
        {
            "uid": f"{s}-{i}",
            "speaker": s,
            "mel": rng.random((50 + 7 * i, 80), np.float32),
            "dvector": np.zeros(256, np.float32),
            "psdr": rng.random((2, 50 + 7 * i, 80), np.float32) if psdr else None,
        }
        for i, s in enumerate(speakers)
    ]


def test_foreign_inputs_join_singlevc_batches_without_moving_its_own_draws():
    from mediumvc.training.data import BatchStream

    own, others = mel_items(["joe"] * 4), mel_items(["a", "b", "c"], psdr=False)
    plain = BatchStream(own, "singlevc", 2, 32, seed=0).batch(5)
    mixed = BatchStream(own, "singlevc", 2, 32, seed=0, foreign=(others, 3)).batch(5)
    assert torch.equal(plain["input"], mixed["input"]) and torch.equal(plain["target"], mixed["target"])
    assert mixed["foreign"].shape == (3, 32, 80) and mixed["foreign_lengths"].tolist() == [32, 32, 32]
    crops = {m["uid"]: torch.from_numpy(m["mel"]) for m in others}
    for crop in mixed["foreign"]:  # each is a window of one of the other speakers' mels
        assert any(torch.equal(crop, mel[s : s + 32]) for mel in crops.values() for s in range(len(mel) - 31)), (
            "a foreign input is not a crop of another speaker's mel"
        )
    again = BatchStream(own, "singlevc", 2, 32, seed=0, foreign=(others, 3)).batch(5)
    assert torch.equal(again["foreign"], mixed["foreign"])
    assert "foreign" not in BatchStream(own, "mediumvc", 2, 32, seed=0, foreign=(others, 3)).batch(0)


def test_foreign_speakers_need_the_content_loss_and_must_be_others(store, tmp_path):
    from mediumvc.training.data import DataConfig, load_foreign
    from mediumvc.training.train import check_foreign

    with pytest.raises(MediumVCError, match="loss.content"):
        check_foreign(singlevc_config(store, "data.foreign=[p226]", "data.foreign_batch=2"))
    with pytest.raises(MediumVCError, match="data.foreign"):
        check_foreign(singlevc_config(store, "loss.voice=0.1"))
    with pytest.raises(MediumVCError, match="must be others"):
        load_foreign(DataConfig(store=str(store), speakers=["p225"], foreign=["p22*"], foreign_batch=2), "singlevc")
    with pytest.raises(MediumVCError, match="singlevc"):
        load_foreign(DataConfig(store=str(store), foreign=["p226"], foreign_batch=2), "mediumvc")
    items = load_foreign(
        DataConfig(store=str(store), speakers=["p225"], foreign=["p22[67]"], foreign_batch=2), "singlevc"
    )
    assert sorted(it["speaker"] for it in items) == ["p226", "p227"]


@pytest.mark.slow
def test_singlevc_trains_on_other_speakers_resumes_exactly_and_ships_no_discriminator(store, tmp_path):
    from safetensors.torch import load_file

    from mediumvc.checkpoint import save_part_dir
    from mediumvc.content.model import ContentModel, ContentModelConfig

    config = ContentModelConfig(channels=16, layers=1, embed_dim=4)
    content_dir = save_part_dir(tmp_path / "content", "content", config, ContentModel(config).state_dict())
    content = ["loss.content=0.5", f"loss.content_model={content_dir}", "loss.disc_channels=8"]
    foreign = ["data.foreign=[p226,p227]", "data.foreign_batch=2", "loss.voice=0.1"]
    run = lambda steps, out, resume=False: train(
        "singlevc", singlevc_config(store, f"trainer.max_steps={steps}", *content, *foreign), out, resume=resume
    )
    straight = run(8, tmp_path / "a")
    run(4, tmp_path / "b")
    resumed = run(8, tmp_path / "b", resume=True)
    a, b = weights(straight), weights(resumed)
    assert any(k.startswith("voice_disc.") for k in a)
    assert all(torch.equal(a[k], b[k]) for k in a), "a resumed run on other speakers drifted from an uninterrupted one"
    assert torch.load(straight, weights_only=True)["voice_disc_optimizer"]["state"], (
        "the voice discriminator never stepped"
    )
    header = (tmp_path / "a" / "logs" / "csv" / "from-step-00000000" / "metrics.csv").read_text().splitlines()[0]
    assert all(name in header for name in ("train/foreign_content", "train/voice_disc", "val/foreign_content"))
    own_only = weights(train("singlevc", singlevc_config(store, "trainer.max_steps=8", *content), tmp_path / "c"))
    assert not torch.equal(a["net.mel_linear2.weight"], own_only["net.mel_linear2.weight"]), (
        "the other speakers' inputs changed nothing"
    )
    assert not [k for k in load_file(export(straight, tmp_path / "svc") / "model.safetensors") if "disc" in k]
