"""Model directories: round trip, compact storage, and one clear line for every broken one."""

import json
import shutil

import pytest
import torch

from mediumvc.checkpoint import load_model_dir, save_model_dir
from mediumvc.config import load_config
from mediumvc.errors import CheckpointError
from mediumvc.nets import add_weight_norm
from mediumvc.speaker import DVector


def one_line(match, path):
    with pytest.raises(CheckpointError, match=match) as info:
        load_model_dir(path)
    assert "\n" not in str(info.value)


def test_round_trip_gives_the_same_function(tmp_path):
    torch.manual_seed(0)
    config = load_config("tiny")
    model = add_weight_norm(config.build()).eval()  # as training holds it
    mel, spk = torch.rand(1, 40, 80), torch.rand(1, 256)
    with torch.no_grad():
        expected = model(mel, spk)
    save_model_dir(tmp_path / "m", config, model, info={"steps": 7}, card="# card\n")
    loaded = load_model_dir(tmp_path / "m")
    assert loaded.config == config and loaded.info == {"steps": 7}
    assert (tmp_path / "m" / "README.md").read_text() == "# card\n"
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(mel, spk), expected)


def test_half_precision_storage_and_dvector(tmp_path):
    config = load_config("tiny")
    config = type(config).from_dict({**config.to_dict(), "speaker_encoder": "dvector"})
    save_model_dir(tmp_path / "m", config, config.build(), DVector(config.dvector), dtype=torch.bfloat16)
    loaded = load_model_dir(tmp_path / "m")
    assert loaded.dvector is not None and next(loaded.model.parameters()).dtype == torch.float32


def test_replacing_a_directory_leaves_no_debris(tmp_path):
    config = load_config("tiny")
    for _ in range(2):
        save_model_dir(tmp_path / "m", config, config.build())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_broken_directories(tmp_path):
    config = load_config("tiny")
    good = save_model_dir(tmp_path / "good", config, config.build())
    one_line("no such directory", tmp_path / "missing")

    pickle = tmp_path / "checkpoint-3900.pt"
    pickle.write_bytes(b"not really a pickle")
    one_line("never unpickles", pickle)

    no_cfg = tmp_path / "no_cfg"
    shutil.copytree(good, no_cfg)
    (no_cfg / "config.json").unlink()
    one_line("config.json is missing", no_cfg)

    bad_json = tmp_path / "bad_json"
    shutil.copytree(good, bad_json)
    (bad_json / "config.json").write_text("{not json")
    one_line("not valid JSON", bad_json)

    typo = tmp_path / "typo"
    shutil.copytree(good, typo)
    meta = json.loads((typo / "config.json").read_text())
    meta["model"]["mediumvc"]["d_modle"] = 3
    (typo / "config.json").write_text(json.dumps(meta))
    one_line("unknown key", typo)

    no_weights = tmp_path / "no_weights"
    shutil.copytree(good, no_weights)
    (no_weights / "model.safetensors").unlink()
    one_line("weights are missing", no_weights)

    truncated = tmp_path / "truncated"
    shutil.copytree(good, truncated)
    data = (truncated / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(data[: len(data) // 2])
    one_line("truncated or corrupt", truncated)

    mismatched = tmp_path / "mismatched"
    shutil.copytree(good, mismatched)
    meta = json.loads((mismatched / "config.json").read_text())
    meta["model"] = load_config("cpu-small").to_dict()
    (mismatched / "config.json").write_text(json.dumps(meta))
    one_line("does not match config.json", mismatched)


def test_onnx_export_runs_in_onnxruntime_like_pytorch(tiny_model_dir, tmp_path):
    import numpy as np
    import onnxruntime as ort

    from mediumvc.checkpoint import load_model_dir
    from mediumvc.onnx_export import export_onnx
    from mediumvc.vocoder import load_hifigan

    paths = export_onnx(tiny_model_dir, tmp_path / "onnx")
    model = load_model_dir(tiny_model_dir).model
    mel, dvector = torch.rand(1, 150, 80), torch.nn.functional.normalize(torch.randn(1, 256), dim=1)
    networks = ort.InferenceSession(str(paths["networks"]), providers=["CPUExecutionProvider"])
    (converted,) = networks.run(None, {"mel": mel.numpy(), "dvector": dvector.numpy()})
    with torch.inference_mode():
        np.testing.assert_allclose(converted, model(mel, dvector).numpy(), atol=1e-4)
    log_mel = torch.randn(1, 80, 40) - 5.0
    vocoder = ort.InferenceSession(str(paths["vocoder"]), providers=["CPUExecutionProvider"])
    (wav,) = vocoder.run(None, {"log_mel": log_mel.numpy()})
    with torch.inference_mode():
        expected = load_hifigan()(log_mel).numpy()
    assert wav.shape == (1, 1, 40 * 256)
    np.testing.assert_allclose(wav, expected, atol=1e-4)
    assert (tmp_path / "onnx" / "config.json").read_text() == (tiny_model_dir / "config.json").read_text()
