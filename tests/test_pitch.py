"""The pitch stage: F0 tracking, the rebuilt harmonic fine structure, and the converter's use of it."""

import dataclasses

import numpy as np
import pytest
import torch

from helpers import voiced, with_config_section
from mediumvc.audio import load_audio
from mediumvc.checkpoint import load_model_dir, save_model_dir
from mediumvc.config import load_config
from mediumvc.converter import VoiceConverter
from mediumvc.errors import CheckpointError
from mediumvc.f0 import median_f0, source_contour, track_f0, transpose_contour
from mediumvc.mel import MelSpectrogram, denormalize_mel
from mediumvc.stages.pitch import PitchStage, _envelope, harmonic_fine_structure, impose_pitch
from mediumvc.voice import TargetVoice


def semitones(a: float, b: float) -> float:
    return abs(12 * np.log2(a / b))


@pytest.mark.parametrize("f0", [85.0, 140.0, 260.0])
def test_track_f0_finds_the_pitch_of_a_harmonic_tone(f0):
    contour = track_f0(voiced(2.0, f0=f0))
    assert contour.shape == (2 * 22050 // 256,)
    assert (contour > 0).mean() > 0.8
    assert semitones(median_f0(contour), f0) < 0.3


def test_track_f0_finds_no_voice_in_noise_or_silence():
    rng = np.random.default_rng(0)
    assert median_f0(track_f0(0.1 * rng.standard_normal(22050).astype(np.float32))) is None
    assert median_f0(track_f0(np.zeros(22050, dtype=np.float32))) is None


def test_track_f0_on_real_speech(speech):
    female, male = (
        median_f0(track_f0(load_audio(speech["p225_003"]))),
        median_f0(track_f0(load_audio(speech["p226_003"]))),
    )
    assert 150 < female < 300 and 70 < male < 160 and female > 1.3 * male


def test_fine_structure_matches_the_mel_of_a_real_harmonic_tone():
    f0 = 180.0
    log_mel = MelSpectrogram()(torch.from_numpy(voiced(1.0, f0=f0))).numpy().astype(np.float64)
    measured = (log_mel - _envelope(log_mel, 20))[10:-10, :40]  # low bins: resolved harmonics
    rebuilt = harmonic_fine_structure(np.full(len(log_mel), f0))[10:-10, :40]
    assert np.corrcoef(measured.ravel(), rebuilt.ravel())[0, 1] > 0.7
    # a different pitch does not match: the test can fail
    other = harmonic_fine_structure(np.full(len(log_mel), f0 * 1.5))[10:-10, :40]
    assert np.corrcoef(measured.ravel(), other.ravel())[0, 1] < 0.3
    unvoiced = harmonic_fine_structure(np.zeros(200))
    np.testing.assert_array_equal(unvoiced, harmonic_fine_structure(np.zeros(200)))  # deterministic
    assert np.abs(np.corrcoef(unvoiced[:, :40].mean(0), rebuilt.mean(0))[0, 1]) < 0.5  # noise: no comb


@pytest.mark.parametrize("clip, factor", [("p226_003", 1.6), ("p225_003", 0.65)])
def test_impose_pitch_moves_the_vocoded_pitch_and_keeps_the_envelope(tiny_converter, speech, clip, factor):
    src = load_audio(speech[clip])[: 3 * 22050]
    f0 = track_f0(src)
    start, goal = median_f0(f0), median_f0(f0) * factor
    mel = tiny_converter.source_mel(src)
    moved = impose_pitch(mel, transpose_contour(f0, start, goal))
    assert moved.shape == mel.shape and 0 <= float(moved.min()) and float(moved.max()) <= 1
    assert semitones(median_f0(track_f0(tiny_converter.vocode(moved))), goal) < 1.0
    assert semitones(median_f0(track_f0(tiny_converter.vocode(mel))), start) < 1.0
    # the smooth part (timbre, loudness) is kept
    env = lambda m: _envelope(denormalize_mel(m).numpy().astype(np.float64), 20)
    assert np.abs(env(moved) - env(mel)).mean() < 0.05 * np.abs(env(mel)).mean()


def test_transpose_keeps_unvoiced_frames_and_the_contour_shape():
    f0 = np.array([0.0, 100.0, 120.0, 0.0, 110.0])
    out = transpose_contour(f0, 110.0, 220.0)
    np.testing.assert_allclose(out, [0, 200, 240, 0, 220])
    assert transpose_contour(f0, None, 220.0) is f0


@pytest.fixture(scope="module")
def pitch_model_dir(tmp_path_factory):
    torch.manual_seed(0)
    config = dataclasses.replace(load_config("tiny"), stages=(PitchStage(lifter=20, hnr_db=30.0),))
    return save_model_dir(tmp_path_factory.mktemp("models") / "tiny_pitch", config, config.build())


def test_pitch_settings_travel_in_the_model_directory(pitch_model_dir):
    assert load_model_dir(pitch_model_dir, "cpu").config.stages == (PitchStage(20, 30.0),)
    bad = with_config_section(
        pitch_model_dir, pitch_model_dir.parent / "bad", "stages", [{"name": "pitch", "lifter": 200}]
    )
    with pytest.raises(CheckpointError, match="lifter"):
        load_model_dir(bad, "cpu")


def test_converter_applies_the_pitch_stage_only_when_it_knows_the_target_pitch(pitch_model_dir, speech):
    vc = VoiceConverter.from_pretrained(pitch_model_dir, device="cpu")
    plain = VoiceConverter.from_pretrained(pitch_model_dir, device="cpu", without=("pitch",))
    assert vc.stages == (PitchStage(20, 30.0),) and plain.stages == ()
    voice = vc.target_voice([speech["p225_003"]])
    assert isinstance(voice, TargetVoice) and 150 < voice.f0 < 300
    assert plain.target_voice([speech["p225_003"]]).f0 is None  # not measured when unused
    src = voiced(1.5, f0=110.0)
    with_pitch, _ = vc.convert(src, voice)
    without, _ = plain.convert(src, voice)
    bare, _ = vc.convert(src, voice.dvector)  # a bare d-vector: no target F0, stage skipped
    assert with_pitch.shape == without.shape
    np.testing.assert_allclose(bare, without, atol=1e-5)
    # the stage changed the mel (a random tiny model's waveform is too quiet to compare)
    _, mel_with = vc.source_and_converted_mels(src, voice)
    _, mel_without = plain.source_and_converted_mels(src, voice)
    assert float((mel_with - mel_without).abs().mean()) > 0.005
    # recordings in place of a voice: the same as the voice they make
    again, _ = vc.convert(src, speech["p225_003"])
    np.testing.assert_allclose(again, with_pitch, atol=1e-5)


@pytest.mark.parametrize("pitch,transpose", [("target", 0.0), ("target", 5.0), ("source", 0.0), ("source", -4.0)])
def test_pitch_controls_set_the_output_pitch(pitch, transpose, tiny_converter):
    """The pitch stage on a real mel, vocoded: the measured F0 lands where the controls say."""
    from mediumvc.stages import StageContext

    src = voiced(2.0, f0=110.0)
    mel = tiny_converter.source_mel(src)
    voice = TargetVoice(torch.zeros(256), f0=220.0)
    out = PitchStage()(mel, StageContext(src, mel, voice, pitch=pitch, transpose=transpose))
    level = 220.0 if pitch == "target" else median_f0(track_f0(src))
    measured = median_f0(track_f0(tiny_converter.vocode(out)))
    assert semitones(measured, level * 2 ** (transpose / 12)) < 1.0


def test_pitch_options_reach_the_stage_and_are_checked(pitch_model_dir, speech):
    from mediumvc.errors import MediumVCError

    vc = VoiceConverter.from_pretrained(pitch_model_dir, device="cpu")
    voice = vc.target_voice([speech["p225_003"]])
    src = voiced(1.5, f0=110.0)
    _, plain = vc.source_and_converted_mels(src, voice)
    _, up = vc.source_and_converted_mels(src, voice, transpose=12.0)
    _, own = vc.source_and_converted_mels(src, voice, pitch="source")
    assert float((plain - up).abs().mean()) > 0.005 and float((plain - own).abs().mean()) > 0.005
    with pytest.raises(MediumVCError, match="transpose"):
        vc.convert(src, voice, transpose=30.0)
    with pytest.raises(MediumVCError, match="pitch must be"):
        vc.convert(src, voice, pitch="up")


@pytest.mark.parametrize("goal", [60.0, 70.0, 85.0, 150.0, 250.0, 350.0, 500.0])
def test_targets_across_the_human_range_come_out_at_their_pitch(goal, tiny_converter):
    """Stage, vocoder and finish, judged by pYIN (not our tracker, which the stage uses): within half a semitone.
    Below the floor (90 Hz) the voice is rendered at 90 Hz and moved down after vocoding."""
    from mediumvc.evaluation.pitch import judged_f0
    from mediumvc.stages import StageContext

    src = voiced(2.0, f0=110.0)
    mel = tiny_converter.source_mel(src)
    context = StageContext(src, mel, TargetVoice(torch.zeros(256), f0=goal))
    stage = PitchStage()
    wav = stage.finish(tiny_converter.vocode(stage(mel, context)), context)
    assert semitones(judged_f0(wav, 22050), goal) < 0.5


def test_a_very_low_target_voice_is_measured_at_its_pitch(pitch_model_dir, speech):
    """A male voice moved an octave down (about 58 Hz): its contour dips below the usual 60 Hz search floor,
    which alone reads the voice high; searched again from 50 Hz it reads as pYIN does."""
    import librosa

    from mediumvc.evaluation.pitch import judged_f0

    low = librosa.effects.pitch_shift(load_audio(speech["p226_003"]), sr=22050, n_steps=-12)
    truth = judged_f0(low, 22050)
    assert semitones(median_f0(track_f0(low)), truth) > 0.5  # the usual search alone
    voice = VoiceConverter.from_pretrained(pitch_model_dir, device="cpu").target_voice([(low, 22050)])
    assert semitones(voice.f0, truth) < 0.3


def test_a_very_low_source_keeps_its_lowest_frames_voiced(pitch_model_dir, speech):
    """The same voice as a source: the usual search leaves its lowest frames unvoiced and reads it high; the
    contour the stages get (searched again from 50 Hz) voices more of them and reads it as pYIN does."""
    import librosa

    from mediumvc.evaluation.pitch import judged_f0

    low = librosa.effects.pitch_shift(load_audio(speech["p226_003"]), sr=22050, n_steps=-12)
    truth = judged_f0(low, 22050)
    usual, contour = track_f0(low), source_contour(low)
    assert (contour > 0).sum() > 1.1 * (usual > 0).sum()
    assert semitones(median_f0(usual), truth) > 1.0
    assert semitones(median_f0(contour), truth) < 0.4
    vc = VoiceConverter.from_pretrained(pitch_model_dir, device="cpu")
    context = vc.stage_context(low, vc.source_mel(low), TargetVoice(torch.zeros(256), f0=120.0))
    assert np.array_equal(context.source_contour, contour)
    # A voice in the usual range is tracked as before.
    normal = load_audio(speech["p226_003"])
    assert np.array_equal(source_contour(normal), track_f0(normal))


def test_below_the_floor_the_vocoder_alone_misses_the_pitch(tiny_converter):
    """Why the floor exists: rendered directly, a 60 Hz goal comes out over a semitone high (or unvoiced)."""
    from mediumvc.evaluation.pitch import judged_f0
    from mediumvc.stages import StageContext

    src = voiced(2.0, f0=110.0)
    mel = tiny_converter.source_mel(src)
    context = StageContext(src, mel, TargetVoice(torch.zeros(256), f0=60.0))
    stage = PitchStage(floor=0.0)
    wav = stage.finish(tiny_converter.vocode(stage(mel, context)), context)
    judged = judged_f0(wav, 22050)
    assert np.isnan(judged) or semitones(judged, 60.0) > 1.0


@pytest.mark.parametrize("goal", [300.0, 400.0])
def test_high_targets_keep_their_harmonics(goal, tiny_converter, speech):
    """Above 238 Hz the envelope keeps fewer coefficients, so the comb survives (a fixed 20 read 400 Hz as 201)."""
    from mediumvc.stages import StageContext
    from mediumvc.stages.pitch import comb_lifter

    assert comb_lifter(206.0) >= 20 > comb_lifter(goal)  # below 238 Hz: the settings as given
    src = load_audio(speech["p226_003"])  # a male voice, about 110 Hz
    mel = tiny_converter.source_mel(src)
    out = PitchStage()(mel, StageContext(src, mel, TargetVoice(torch.zeros(256), f0=goal)))
    assert semitones(median_f0(track_f0(tiny_converter.vocode(out))), goal) < 2.0
