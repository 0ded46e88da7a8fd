"""Shapes, parameter counts against the spec, weight norm, and the MwoS variant."""

import pytest
import torch

from mediumvc.config import load_config
from mediumvc.nets import MediumVC, MediumVCConfig, SingleVC, SingleVCConfig, add_weight_norm, fold_weight_norm
from mediumvc.nets.blocks import ResBlock, fold_weight_norm_state
from mediumvc.nets.mediumvc import fuse_speaker


def count(params) -> int:
    return sum(p.numel() for p in params)


def unused_identity_skips(module) -> int:
    """The original also builds a 1x1 conv in equal-width ResBlocks and never runs it;
    we leave it out. Its weight-normed size: weight + bias + g."""
    return sum(
        b.conv3.in_channels * b.conv3.out_channels + 2 * b.conv3.out_channels
        for b in module.modules()
        if isinstance(b, ResBlock) and b.skip is None
    )


def test_paper_parameter_counts_match_the_original_within_one_percent():
    config = load_config("paper")
    model = add_weight_norm(config.build())  # the original counts with weight norm attached
    singlevc = count(model.singlevc.parameters()) + unused_identity_skips(model.singlevc)
    trainable_modules = [model.content_encoder, model.decoder]
    trainable = count(model.trainable_parameters()) + sum(unused_identity_skips(m) for m in trainable_modules)
    assert singlevc == pytest.approx(5.14e6, rel=0.01)
    assert trainable == pytest.approx(21.28e6, rel=0.01)
    # and what we really build (no unused weights, weight norm folded for inference):
    fold_weight_norm(model)
    assert count(model.singlevc.parameters()) == pytest.approx(5.06e6, rel=0.005)
    assert count(model.trainable_parameters()) == pytest.approx(20.87e6, rel=0.005)


def test_shapes_and_non_negative_outputs():
    torch.manual_seed(0)
    config = load_config("tiny")
    model = config.build().eval()
    mel, spk = torch.rand(3, 57, 80), torch.nn.functional.normalize(torch.randn(3, 256), dim=-1)
    with torch.no_grad():
        out = model(mel, spk)
        ssif = model.ssif(mel)
    assert out.shape == ssif.shape == (3, 57, 80)
    assert out.min() >= 0 and 0 <= ssif.min() and ssif.max() <= 1
    pad = torch.zeros(3, 57, dtype=torch.bool)
    pad[0, 40:] = True
    with torch.no_grad():
        assert model.singlevc(mel, pad).shape == (3, 57, 80)


def test_mwos_variant_reads_the_mel_directly():
    model = MediumVC(MediumVCConfig(), singlevc=None).eval()
    mel = torch.rand(1, 20, 80)
    assert torch.equal(model.ssif(mel), mel)
    assert not any(n.startswith("singlevc") for n, _ in model.named_parameters())


def test_weight_norm_fold_keeps_the_function():
    torch.manual_seed(1)
    model = SingleVC(SingleVCConfig(encoder_widths=(32,), d_model=32, d_hidden=32, postnet_widths=(80,))).eval()
    add_weight_norm(model)
    with torch.no_grad():
        model.encoder[0][0].conv5.parametrizations.weight.original0.mul_(1.7)  # make g matter
        mel = torch.rand(2, 30, 80)
        before = model(mel)
        normed_state = model.state_dict()
        fold_weight_norm(model)
        torch.testing.assert_close(model(mel), before)
        assert fold_weight_norm_state(normed_state).keys() == model.state_dict().keys()


def test_fusion_is_scale_and_bias_from_the_max_abs_normalised_vector():
    x = torch.randn(2, 4, 5)
    e = torch.tensor([[0.5, -0.25, 0.1, 0.0], [1.0, 2.0, -4.0, 0.5]])
    n = e / e.abs().amax(-1, keepdim=True)
    expected = x * n.abs().sqrt().unsqueeze(-1) + n.unsqueeze(-1)
    torch.testing.assert_close(fuse_speaker(x, e), expected)


def test_config_rejects_typos_and_bad_sizes():
    from mediumvc.config import ModelConfig

    with pytest.raises(ValueError, match="unknown key"):
        ModelConfig.from_dict({"mediumvc": {"d_modle": 3}})
    with pytest.raises(ValueError, match="end at n_mels"):
        SingleVCConfig(postnet_widths=(64,))
    with pytest.raises(ValueError, match="speaker_dim"):
        ModelConfig(mediumvc=MediumVCConfig(speaker_dim=128))


def test_attention_prenorm_lets_frames_through_a_large_common_offset():
    """The silent plateau's cause and its fix: with a big offset shared by all frames (what the
    original's ResBlocks feed the attention), randomly initialised attention averages over time;
    centring each channel over time first (prenorm, no parameters) keeps the frames apart."""
    from mediumvc.nets.blocks import AttentionNorm

    torch.manual_seed(0)
    x = 10.0 + torch.randn(2, 36, 100)  # (B, C, T): offset 10, frame-to-frame variation 1
    plain, pre = AttentionNorm(36, 2, instance_norm=False), AttentionNorm(36, 2, instance_norm=False, prenorm=True)
    pre.load_state_dict(plain.state_dict())  # same weights: prenorm has none of its own
    variation = lambda y: float(y.std(-1).mean() / y.abs().mean())
    assert variation(plain(x)) < 0.05 < 0.3 < variation(pre(x))
    import dataclasses

    from mediumvc.config import load_config

    config = load_config("cpu-small")
    assert config.mediumvc.attention_prenorm is False  # a flag, off unless a config asks for it
    normed = dataclasses.replace(config, mediumvc=dataclasses.replace(config.mediumvc, attention_prenorm=True))
    count = lambda c: sum(p.numel() for p in c.build().parameters())
    assert count(normed) == count(config)


def test_ssif_skip_starts_at_the_ssif_and_learns_a_signed_change():
    """`ssif_skip` (not in the paper): output = ReLU(SSIF + change); the change starts near zero,
    so an untrained network already passes the SSIF through; off in the paper configs."""
    from mediumvc.config import load_config
    from mediumvc.nets import add_weight_norm

    assert (
        load_config("paper").mediumvc.ssif_skip is False
        and load_config("cpu-small-prenorm").mediumvc.ssif_skip is False
    )
    torch.manual_seed(0)
    net = load_config("cpu-small-skip").build()
    add_weight_norm(net.content_encoder)
    add_weight_norm(net.decoder)  # as in training: weight norm must not turn the near-zero init into NaN
    ssif, speaker = torch.rand(2, 60, 80), torch.randn(2, 256)
    out = net.from_ssif(ssif, speaker)
    assert torch.isfinite(out).all() and (out - ssif).abs().max() < 5e-3
    # one optimiser step moves the output away from the SSIF, in both directions
    opt = torch.optim.Adam([p for p in net.decoder.parameters() if p.requires_grad], lr=1e-2)
    target = (ssif + 0.2 * torch.randn_like(ssif)).clamp_min(0)
    (net.from_ssif(ssif, speaker) - target).abs().mean().backward()
    opt.step()
    change = net.from_ssif(ssif, speaker) - ssif
    assert change.max() > 1e-3 and change.min() < -1e-3


def test_speaker_eq_starts_as_identity_and_learns_per_speaker_spectral_shape():
    """`speaker_eq` (not in the paper): output -> ReLU(output * exp(g) + o), g and o from the d-vector."""
    from mediumvc.config import load_config

    assert (
        load_config("paper").mediumvc.speaker_eq is False and load_config("cpu-small-skip").mediumvc.speaker_eq is False
    )
    torch.manual_seed(0)
    net = load_config("cpu-small-skip-eq").build()
    plain = load_config("cpu-small-skip").build()
    plain.load_state_dict(net.state_dict(), strict=False)  # same weights, minus the EQ
    net.eval(), plain.eval()  # no dropout noise
    ssif, speakers = (
        torch.rand(2, 40, 80),
        torch.nn.functional.normalize(torch.randn(2, 256), dim=-1),
    )  # unit, like d-vectors
    assert torch.allclose(net.from_ssif(ssif, speakers), plain.from_ssif(ssif, speakers))  # zero init: identity
    assert any(
        n.startswith("speaker_eq.")
        for n, _ in net.named_parameters()
        if any(p is _ for p in net.trainable_parameters())
    )
    # a few steps fit two speakers' different spectral tilts through the EQ alone
    eq = net.speaker_eq
    opt = torch.optim.Adam(eq.parameters(), lr=1e-2)
    tilt = torch.stack([torch.linspace(0.2, -0.2, 80), torch.linspace(-0.2, 0.2, 80)]).unsqueeze(1)
    mel = 0.5 + 0.1 * torch.rand(2, 40, 80)
    for _ in range(200):
        opt.zero_grad()
        loss = (eq(mel, speakers) - (mel + tilt)).abs().mean()
        loss.backward()
        opt.step()
    assert loss.item() < 0.02
