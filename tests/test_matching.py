"""The target-matching stage: the converted mel's slow part moved toward its nearest target frames."""

from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import save_tiny_model, voiced, with_config_section
from mediumvc.checkpoint import load_model_dir
from mediumvc.content.model import ContentModel, ContentModelConfig
from mediumvc.converter import VoiceConverter
from mediumvc.errors import CheckpointError, MediumVCError
from mediumvc.speaker import make_speaker_encoder
from mediumvc.stages.match import (
    MAX_REFERENCE_FRAMES,
    ContentMatch,
    MatchStage,
    match_target,
    nearest_frames,
    reference_frames,
)
from mediumvc.vocoder import load_hifigan


def _frames(n: int, seed: int) -> torch.Tensor:
    """(n, 80) distinct frames in [0.2, 0.7]: smooth random spectra."""
    g = torch.Generator().manual_seed(seed)
    return 0.2 + 0.5 * torch.rand(n, 80, generator=g)


def test_nearest_frames_finds_the_same_sound_despite_a_level_offset():
    reference = _frames(30, 0)
    order = torch.randperm(30, generator=torch.Generator().manual_seed(1))[:12]
    queries = reference[order] + 0.15  # the same frames, louder: the mean-removed cosine ignores it
    torch.testing.assert_close(nearest_frames(queries, reference, k=1), reference[order])
    two = nearest_frames(queries, reference, k=2)
    assert not torch.allclose(two, reference[order])  # k=2 averages in a second frame
    assert nearest_frames(queries, reference[:1], k=8).shape == queries.shape  # k larger than the reference


def test_match_target_moves_only_the_slow_part():
    converted = _frames(60, 2)
    # the target says the same sounds 0.1 higher in every bin: the whole offset is slow, so it all moves
    out = match_target(converted, converted + 0.1, MatchStage(weight=1.0, k=1, frames=9))
    torch.testing.assert_close(out, converted + 0.1)
    half = match_target(converted, converted + 0.1, MatchStage(weight=0.5, k=1, frames=9))
    torch.testing.assert_close(half, converted + 0.05)
    # unrelated target frames: the output changes, but only slowly (a moving average of the frame-wise
    # change), so the converted mel's own frame-to-frame changes stay
    reference = _frames(40, 3)
    moved = match_target(converted, reference, MatchStage(weight=1.0, k=4, frames=9))
    change, framewise = moved - converted, nearest_frames(converted, reference, 4) - converted
    assert float(change.abs().mean()) > 0.01
    roughness = lambda x: float(x.diff(dim=0).abs().mean())
    assert roughness(change) < 0.2 * roughness(framewise)
    assert moved.min() >= 0 and moved.max() <= 1
    with pytest.raises(ValueError, match="reference frames"):
        match_target(converted, torch.zeros(0, 80), MatchStage())
    with pytest.raises(ValueError, match="reference frames"):
        match_target(converted, torch.zeros(10, 40), MatchStage())


def test_reference_frames_are_bounded_and_keep_every_recording():
    short = [_frames(100, 4), _frames(50, 5)]
    torch.testing.assert_close(reference_frames(short), torch.cat(short))  # under the cap: all of them
    many = [torch.full((MAX_REFERENCE_FRAMES // 2, 80), float(i) / 10) for i in range(5)]  # 2.5x the cap
    kept = reference_frames(many)
    assert len(kept) <= MAX_REFERENCE_FRAMES
    assert sorted(set(kept[:, 0].tolist())) == pytest.approx([i / 10 for i in range(5)])  # each recording still there


@pytest.mark.parametrize("bad", [{"weight": 0.0}, {"weight": 2.5}, {"k": 0}, {"frames": 8}, {"frames": 65}])
def test_bad_match_settings_are_refused(bad):
    with pytest.raises(ValueError, match="match"):
        MatchStage(**bad)


@pytest.fixture(scope="module")
def match_model_dir(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("models") / "match", MatchStage(1.0, 4, 9))


def test_match_settings_travel_in_the_model_directory(match_model_dir, tmp_path):
    assert load_model_dir(match_model_dir, "cpu").config.stages == (MatchStage(1.0, 4, 9),)
    bad = with_config_section(
        match_model_dir, tmp_path / "bad", "stages", [{"name": "match", "weight": 1.0, "k": 4, "frames": 10}]
    )
    with pytest.raises(CheckpointError, match="frames"):
        load_model_dir(bad, "cpu")


def test_converter_matches_the_target_recordings_frames(match_model_dir, speech):
    vc = VoiceConverter.from_pretrained(match_model_dir, device="cpu")
    plain = VoiceConverter.from_pretrained(match_model_dir, device="cpu", without=("match",))
    assert vc.stages == (MatchStage(1.0, 4, 9),) and plain.stages == ()
    recordings = [speech["p225_003"], speech["p226_003"]]
    voice = vc.target_voice(recordings)
    # the frames of both recordings, each peak-normalised as a source is
    expected = torch.cat([vc.source_mel(r) for r in recordings])
    torch.testing.assert_close(voice.frames, expected)
    assert plain.target_voice(recordings).frames is None  # nothing kept that no stage needs
    src = voiced(1.5, f0=110.0)
    _, matched = vc.source_and_converted_mels(src, voice)
    _, unmatched = plain.source_and_converted_mels(src, voice)
    mel = vc.source_mel(src)
    torch.testing.assert_close(
        matched, match_target(plain.convert_mel(mel, voice.dvector), voice.frames, vc.stage("match"))
    )
    assert float((matched - unmatched).abs().mean()) > 1e-3


def test_matching_by_content_picks_the_frame_that_says_the_same_sound():
    """Each converted frame looks like reference frame j but the source says the sound of frame i: by mel
    the match is j, by content i."""
    reference, ids = _frames(20, 7), torch.eye(20)
    says = torch.randperm(20, generator=torch.Generator().manual_seed(2))
    looks = (says + 5) % 20
    converted = reference[looks] + 0.1
    by_content = ContentMatch(source=ids[says], reference=ids)
    torch.testing.assert_close(nearest_frames(converted, reference, 1), reference[looks])
    torch.testing.assert_close(nearest_frames(converted, reference, 1, by_content, share=1.0), reference[says])
    # mixed: content decides only where the mels leave it open
    torch.testing.assert_close(nearest_frames(converted, reference, 1, by_content, share=0.05), reference[looks])


def test_matching_by_content_leaves_the_sources_pauses_alone():
    converted = _frames(60, 6)
    speech = torch.zeros(60, dtype=torch.bool)
    speech[:30] = True
    content = ContentMatch(torch.rand(60, 4), torch.rand(20, 4), speech)
    out = match_target(converted, converted[:20] + 0.2, MatchStage(1.0, 4, 9, content=1.0), content)
    moved = (out - converted).abs().mean(1)
    assert moved[:24].min() > 0.05 and moved[35:].max() == 0  # faded out over 9 frames around frame 30


class EnergyContent(ContentModel):
    """A stand-in content model for the converter's plumbing: loud frames are speech, quiet ones silence;
    the "embedding" is the first 8 mel bins."""

    def features(self, mel):
        return mel[:, :8].float(), mel.mean(1) > 0.3


def test_matching_by_content_uses_the_targets_speech_frames_only(speech):
    model = load_model_dir(save_tiny_model_with(MatchStage(1.0, 4, 9, content=1.0)), "cpu")
    vc = VoiceConverter(
        model.model,
        load_hifigan(),
        make_speaker_encoder("resemblyzer"),
        "cpu",
        stages=model.config.stages,
        content_model=EnergyContent(ContentModelConfig(channels=8, layers=1, embed_dim=8)),
    )
    voice = vc.target_voice(speech["p225_003"])
    mel = vc.source_mel(speech["p225_003"])
    assert voice.frames.shape == (int((mel.mean(1) > 0.3).sum()), 80) < mel.shape
    torch.testing.assert_close(voice.frames, mel[mel.mean(1) > 0.3])
    torch.testing.assert_close(voice.content, voice.frames[:, :8])
    context = vc.stage_context(np.zeros(256 * len(mel), np.float32), mel, voice)
    assert torch.equal(context.source_speech, mel.mean(1) > 0.3)
    with pytest.raises(MediumVCError, match="content model"):
        VoiceConverter(
            model.model, load_hifigan(), make_speaker_encoder("resemblyzer"), "cpu", stages=model.config.stages
        )


def save_tiny_model_with(*stages):
    import tempfile

    return save_tiny_model(Path(tempfile.mkdtemp()) / "model", *stages)


def test_a_content_model_travels_in_the_model_directory_and_export_adds_one(match_model_dir, tmp_path):
    from mediumvc.checkpoint import save_part_dir
    from mediumvc.training.export import export

    config = ContentModelConfig(channels=16, layers=1, embed_dim=4)
    torch.manual_seed(3)
    content = ContentModel(config)
    content_dir = save_part_dir(tmp_path / "content", "content", config, content.state_dict())
    out = export(match_model_dir, tmp_path / "out", stages=[MatchStage(0.5, 8, 13, content=1.0)], content=content_dir)
    loaded = load_model_dir(out, "cpu")
    assert loaded.config.stages == (MatchStage(0.5, 8, 13, content=1.0),) and loaded.config.content == config
    assert all(torch.equal(v, content.state_dict()[k]) for k, v in loaded.content.state_dict().items())
    vc = VoiceConverter.from_pretrained(out, device="cpu")
    assert vc.content_model is not None and vc.needs == {"frames", "content"}
    # the networks are the same as before
    before = load_model_dir(match_model_dir, "cpu").model.state_dict()
    assert all(torch.equal(v, before[k]) for k, v in loaded.model.state_dict().items())
    with pytest.raises(CheckpointError, match="content"):
        load_model_dir(with_config_section(out, tmp_path / "bad", "content", None), "cpu")


class FirstHalfSpeaks(ContentModel):
    """A stand-in content model that hears speech in the first half of every recording only."""

    def features(self, mel):
        return mel[:, :8].float(), torch.arange(len(mel)) < len(mel) // 2


def test_with_a_content_model_the_targets_pitch_comes_from_its_speech_frames():
    from mediumvc.stages import PitchStage

    model = load_model_dir(save_tiny_model_with(PitchStage()), "cpu")
    parts = model.model, load_hifigan(), make_speaker_encoder("resemblyzer"), "cpu"
    reference = np.concatenate([voiced(1.5, f0=120.0), voiced(1.5, f0=300.0, seed=1)])  # a voice, then a tune
    content = FirstHalfSpeaks(ContentModelConfig(channels=8, layers=1, embed_dim=8))
    heard = VoiceConverter(*parts, stages=model.config.stages, content_model=content).target_voice(reference)
    assert heard.f0 == pytest.approx(120.0, rel=0.03)
    unheard = VoiceConverter(*parts, stages=model.config.stages).target_voice(reference)
    assert unheard.f0 > 150.0  # without one, the tune counts
