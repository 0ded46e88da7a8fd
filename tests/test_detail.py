"""The source-detail stage: the source's fast envelope changes added to the converted mel."""

import pytest
import torch

from helpers import save_tiny_model, voiced, with_config_section
from mediumvc.checkpoint import load_model_dir
from mediumvc.converter import VoiceConverter
from mediumvc.errors import CheckpointError
from mediumvc.mel import fast_changes
from mediumvc.stages.detail import DetailStage, add_source_detail


def test_fast_changes_keep_steps_and_drop_what_is_steady():
    steady = torch.full((40, 80), 0.4)
    assert fast_changes(steady, 9).abs().max() < 1e-6
    step = steady.clone()
    step[20:] = 0.8  # an onset: +0.4 at frame 20
    fast = fast_changes(step, 9)
    assert fast[:15].abs().max() < 1e-6 and fast[26:].abs().max() < 1e-6  # far from the onset: nothing
    assert fast[19].max() < -0.1 and fast[20].min() > 0.1  # around it: the jump, centred


def test_add_source_detail_adds_the_gain_times_the_fast_part_and_stays_in_range():
    source = torch.rand(50, 80)
    converted = torch.full((50, 80), 0.5)
    out = add_source_detail(converted, source, DetailStage(0.5, 9))
    torch.testing.assert_close(out, (converted + 0.5 * fast_changes(source, 9)).clamp(0, 1))
    assert out.min() >= 0 and out.max() <= 1
    with pytest.raises(ValueError, match="frame-aligned"):
        add_source_detail(converted, source[:49], DetailStage())


@pytest.mark.parametrize("bad", [{"gain": 0.0}, {"gain": 3.0}, {"frames": 8}, {"frames": 1}])
def test_bad_detail_settings_are_refused(bad):
    with pytest.raises(ValueError, match="detail"):
        DetailStage(**bad)


@pytest.fixture(scope="module")
def detail_model_dir(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("models") / "detail", DetailStage(0.5, 9))


def test_detail_settings_travel_in_the_model_directory(detail_model_dir, tmp_path):
    assert load_model_dir(detail_model_dir, "cpu").config.stages == (DetailStage(0.5, 9),)
    bad = with_config_section(
        detail_model_dir, tmp_path / "bad", "stages", [{"name": "detail", "gain": 0.5, "frames": 10}]
    )
    with pytest.raises(CheckpointError, match="frames"):
        load_model_dir(bad, "cpu")


def test_converter_adds_exactly_the_source_detail(detail_model_dir, speech):
    vc = VoiceConverter.from_pretrained(detail_model_dir, device="cpu")
    plain = VoiceConverter.from_pretrained(detail_model_dir, device="cpu", without=("detail",))
    assert vc.stages == (DetailStage(0.5, 9),) and plain.stages == ()
    voice = vc.target_voice([speech["p225_003"]])
    src = voiced(1.5, f0=110.0)
    mel, with_detail = vc.source_and_converted_mels(src, voice)
    _, without = plain.source_and_converted_mels(src, voice)
    torch.testing.assert_close(with_detail, (without + 0.5 * fast_changes(mel, 9)).clamp(0, 1))
    assert float((with_detail - without).abs().mean()) > 1e-3
