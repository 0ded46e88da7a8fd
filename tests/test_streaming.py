"""Streaming conversion: chunks in as they arrive, converted audio out with a bounded lag."""

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from mediumvc.audio import HOP_LENGTH, load_audio
from mediumvc.errors import MediumVCError
from mediumvc.samples import SOURCE, TARGET
from mediumvc.streaming import StreamingConversion, StreamSettings, simulate

SETTINGS = StreamSettings(chunk=12, lookahead=4, context_seconds=1.0)


@pytest.fixture(scope="module")
def bundled():
    from mediumvc.converter import VoiceConverter

    return VoiceConverter.from_pretrained(device="cpu", precision="fp32")


@pytest.fixture(scope="module")
def clip(bundled):
    return bundled.front_end.load_source(str(SOURCE))[: 3 * 22050], bundled.target_voice(str(TARGET))


def test_the_output_lags_by_chunk_plus_lookahead_and_keeps_the_length(bundled, clip):
    wav, voice = clip
    conversion = StreamingConversion(bundled, voice, SETTINGS)
    pushed = emitted = 0
    for size in (1000, 5000, 37, 12000, 3000, 9000, 20000):  # uneven pieces, as an audio device may deliver
        emitted += len(conversion.push(wav[pushed : pushed + size]))
        pushed += size
        frames_in = pushed // HOP_LENGTH
        assert emitted % (SETTINGS.chunk * HOP_LENGTH) == 0
        assert 0 <= frames_in - emitted // HOP_LENGTH < SETTINGS.chunk + SETTINGS.lookahead
    emitted += len(conversion.push(wav[pushed:])) + len(conversion.finish())
    assert emitted == len(wav) // HOP_LENGTH * HOP_LENGTH


def test_how_the_input_is_cut_does_not_change_the_output(bundled, clip):
    wav, voice = clip
    even, _ = simulate(bundled, wav, voice, SETTINGS)
    conversion = StreamingConversion(bundled, voice, SETTINGS)
    cuts = np.cumsum([0, 700, 4000, 3, 9000, 2500])
    uneven = [conversion.push(wav[a:b]) for a, b in zip(cuts, [*cuts[1:], len(wav)])]
    uneven = np.concatenate([*uneven, conversion.finish()])
    np.testing.assert_allclose(uneven, even, atol=1e-5)


def test_each_window_reuses_the_pitch_analysis_of_the_last(bundled, clip, monkeypatch):
    """A window's contour is the whole window's `track_f0` (bar its first three frames: two come from real input
    rather than padding, and the smoothing reaches one further), though each step analyses only its new frames."""
    import mediumvc.streaming as streaming
    from mediumvc.f0 import track_f0

    wav, voice = clip
    analysed, compared = [], []
    real = streaming.analyse_frames
    monkeypatch.setattr(streaming, "analyse_frames", lambda frames: analysed.append(len(frames)) or real(frames))
    contour = StreamingConversion.contour

    def checked(self, window, start, scale):
        out = contour(self, window, start, scale)
        compared.append((out, track_f0(window * scale)))
        return out

    monkeypatch.setattr(StreamingConversion, "contour", checked)
    simulate(bundled, wav, voice, SETTINGS)
    assert len(compared) > 5 and any((whole > 0).sum() > 10 for _, whole in compared)
    for streamed, whole in compared:
        assert np.mean((streamed[3:] > 0) == (whole[3:] > 0)) > 0.98
        both = (streamed[3:] > 0) & (whole[3:] > 0)
        np.testing.assert_allclose(streamed[3:][both], whole[3:][both], rtol=1e-3)
    window = len(compared[1][1])
    assert max(analysed[1:]) <= SETTINGS.chunk + SETTINGS.lookahead + 2 < window / 2


def test_streamed_speech_is_continuous_and_sounds_like_the_offline_conversion(bundled, clip):
    _, voice = clip
    wav = bundled.front_end.load_source(str(SOURCE))  # the whole 5.2 s: the stream's statistics need time to settle
    streamed, times = simulate(bundled, wav, voice, SETTINGS)
    offline, _ = bundled.convert(wav, voice)
    frames = len(wav) // HOP_LENGTH
    full_steps = (frames - SETTINGS.lookahead) // SETTINGS.chunk  # then one last step for the rest
    assert len(streamed) == len(offline) and len(times) == full_steps + (frames > full_steps * SETTINGS.chunk)
    # no clicks where chunks meet: the sample-to-sample steps there are like those elsewhere
    steps = np.abs(np.diff(streamed))
    joins = np.arange(1, len(times) - 1) * SETTINGS.chunk * HOP_LENGTH - 1
    assert steps[joins].max() < 4 * np.percentile(steps, 99.5)
    encoder = bundled.speaker_encoder
    similarity = lambda audio: float(encoder.embed([audio]) @ voice.dvector)
    assert float(encoder.embed([streamed]) @ encoder.embed([offline])) > 0.85
    assert similarity(streamed) > similarity(wav) + 0.05 and abs(similarity(streamed) - similarity(offline)) < 0.05


class PassThrough(torch.nn.Module):
    """Stands in for the networks: the source mel comes out as it went in."""

    def forward(self, mel, speaker, pad_mask=None):
        return mel


def test_with_lookahead_enough_for_the_vocoder_each_chunk_sounds_as_in_the_whole_file(bundled):
    from mediumvc.converter import VoiceConverter
    from mediumvc.voice import TargetVoice

    vc = VoiceConverter(PassThrough(), bundled.vocoder.generator, bundled.speaker_encoder, precision="fp32")
    reach = vc.vocoder.generator.context_frames
    settings = StreamSettings(chunk=12, lookahead=reach, context_seconds=1.0)
    # 441 Hz: 50 samples a period, so every window holds the same peak and is scaled as the whole file is
    wav = (0.95 * np.sin(2 * np.pi * 441 * np.arange(3 * 22050) / 22050)).astype(np.float32)
    streamed, _ = simulate(vc, wav, TargetVoice(bundled.target_voice(str(TARGET)).dvector), settings)
    whole = vc.vocode(vc.convert_mel(vc.front_end.wav_mel(wav), torch.zeros(256)))
    inner = slice(reach * HOP_LENGTH, len(wav) - 2 * settings.chunk * HOP_LENGTH)  # the last step has no lookahead
    assert np.abs(streamed[inner] - whole[inner]).max() < 4e-3  # 1e-3 here; 17e-3 with 8 frames before each chunk


def test_a_stream_slower_than_real_time_is_noticed(bundled, clip):
    wav, voice = clip
    conversion = StreamingConversion(bundled, voice, SETTINGS)
    chunk = SETTINGS.chunk_seconds
    conversion.compute_seconds = [5.0] + [0.5 * chunk] * 12  # the first step (kernels) does not count
    assert not conversion.falling_behind()
    conversion.compute_seconds += [1.5 * chunk] * 10
    assert conversion.falling_behind()
    conversion.compute_seconds = [0.1, 2 * chunk, 2 * chunk]  # too few steps to tell
    assert not conversion.falling_behind()


@pytest.mark.parametrize("bad", [{"chunk": 0}, {"lookahead": 1}, {"context_seconds": 0.1}])
def test_bad_stream_settings_are_refused(bad):
    with pytest.raises(MediumVCError, match="stream settings"):
        StreamSettings(**bad)


@pytest.mark.slow
def test_stream_command_streams_a_file_and_reports_its_timing(tmp_path):
    source, target = SOURCE, TARGET
    out = tmp_path / "streamed.wav"
    args = ["--target", str(target), "--input", str(source), "--output", str(out), "--threads", "1"]
    r = subprocess.run([sys.executable, "-m", "mediumvc", "stream", *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "latency 197 ms (chunk 93 ms + lookahead 104 ms)" in r.stderr
    assert "compute per chunk median" in r.stdout and "real-time margin" in r.stdout
    assert sf.info(out).frames == len(load_audio(str(source))) // HOP_LENGTH * HOP_LENGTH


def test_the_stream_command_says_when_a_target_is_too_low_to_land_live(bundled):
    from mediumvc.cli.stream import low_voice_note
    from mediumvc.voice import TargetVoice

    low, usual = TargetVoice(torch.zeros(256), f0=62.0), TargetVoice(torch.zeros(256), f0=120.0)
    assert "62 Hz" in low_voice_note(bundled, low) and "mediumvc convert" in low_voice_note(bundled, low)
    assert low_voice_note(bundled, usual) is None
    assert low_voice_note(bundled, usual, transpose=-12) is not None  # 60 Hz after the transpose
    assert low_voice_note(bundled, low, pitch="source") is None  # the source's level: not known yet


def test_live_streaming_without_an_audio_device_says_what_to_do():
    target = TARGET
    r = subprocess.run(
        [sys.executable, "-m", "mediumvc", "stream", "--target", str(target)], capture_output=True, text=True
    )
    assert r.returncode == 2 and "--input FILE" in r.stderr and len(r.stderr.strip().splitlines()) == 1
