"""Speaker encoders: the pretrained default orders speakers correctly; our d-vector, wav2mel and GE2E."""

import numpy as np
import pytest
import torch

from helpers import voiced
from mediumvc.errors import AudioError
from mediumvc.speaker import DVector, DVectorConfig, DVectorEncoder, GE2ELoss, Wav2Mel, make_speaker_encoder
from mediumvc.speaker.dvector import remove_silence


@pytest.fixture(scope="module")
def resemblyzer():
    return make_speaker_encoder("resemblyzer")


def test_resemblyzer_same_speaker_beats_different_speakers(resemblyzer, speech):
    a1, a2 = resemblyzer.embed(speech["p225_003"]), resemblyzer.embed(speech["p225_008"])
    b, c = resemblyzer.embed(speech["p226_003"]), resemblyzer.embed(speech["p227_003"])
    for e in (a1, a2, b, c):
        assert e.shape == (256,) and float(e.norm()) == pytest.approx(1.0, abs=1e-5)
    same = float(a1 @ a2)
    assert same > float(a1 @ b) + 0.05 and same > float(a1 @ c) + 0.05


def test_several_references_are_averaged_and_renormalised(resemblyzer, speech):
    a1, a2 = resemblyzer.embed(speech["p225_003"]), resemblyzer.embed(speech["p225_008"])
    both = resemblyzer.embed([speech["p225_003"], speech["p225_008"]])
    torch.testing.assert_close(both, torch.nn.functional.normalize(a1 + a2, dim=0))


def test_resemblyzer_refuses_silence(resemblyzer):
    with pytest.raises(AudioError, match="silent"):
        resemblyzer.embed(np.zeros(22050, np.float32))


def test_dvector_size_and_windowed_embedding():
    torch.manual_seed(0)
    model = DVector().eval()
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(1.42e6, rel=0.01)
    short = torch.randn(120, 40)
    torch.testing.assert_close(model.embed_utterance(short), model(short[None])[0])
    long = torch.randn(300, 40)  # padded to 320 -> windows at 0, 80, 160 of 160 frames
    padded = torch.nn.functional.pad(long, (0, 0, 0, 20))
    windows = torch.stack([padded[s : s + 160] for s in (0, 80, 160)])
    expected = torch.nn.functional.normalize(model(windows).mean(0), dim=0)
    with torch.no_grad():
        torch.testing.assert_close(model.embed_utterance(long), expected)


def test_wav2mel_rate_and_silence_removal():
    sr = 16000
    speech = voiced(1.0, sr=sr)
    gap = np.zeros(sr // 2, np.float32)
    wav = np.concatenate([gap, speech, gap, speech, gap])
    kept = remove_silence(wav / np.abs(wav).max() * 0.7, sr, 0.01, 0.1)
    assert abs(len(kept) - 2 * sr) < 0.05 * sr  # both pauses and the lead-in removed
    w2m = Wav2Mel()
    mel = w2m(torch.from_numpy(w2m.preprocess(wav)))
    assert mel.shape[1] == 40 and abs(mel.shape[0] - 201) <= 3  # 100 frames/s of the 2 s kept
    with pytest.raises(AudioError, match="no speech"):
        click = np.full(sr, 1e-4, np.float32)
        click[sr // 2] = 1.0  # after peak normalisation only one loud sample: no speech
        w2m.preprocess(click)


def test_dvector_encoder_interface():
    enc = DVectorEncoder(DVector(DVectorConfig()))
    e = enc.embed([(voiced(2.0, sr=16000, f0=120), 16000), voiced(2.0, f0=200)])
    assert e.shape == (256,) and float(e.norm()) == pytest.approx(1.0, abs=1e-5)


def naive_ge2e(emb, w, b):
    n, m, _ = emb.shape
    loss = 0.0
    for j in range(n):
        for i in range(m):
            sims = []
            for k in range(n):
                others = [emb[k, x] for x in range(m) if not (k == j and x == i)]
                c = torch.stack(others).mean(0)
                sims.append(w * torch.cosine_similarity(emb[j, i], c, dim=0) + b)
            loss = loss - torch.log_softmax(torch.stack(sims), 0)[j]
    return loss


def test_ge2e_matches_its_definition_and_prefers_separated_speakers():
    torch.manual_seed(0)
    loss = GE2ELoss()
    emb = torch.randn(4, 3, 8)
    torch.testing.assert_close(loss(emb), naive_ge2e(emb, 10.0, -5.0))
    centres = torch.eye(8)[:4] * 5
    separated = centres[:, None, :] + 0.1 * torch.randn(4, 3, 8)
    assert loss(separated) < loss(emb)
    emb.requires_grad_(True)
    loss(emb).backward()
    assert emb.grad is not None and loss.w.grad is not None and loss.b.grad is not None
    assert GE2ELoss(method="contrast")(separated) < GE2ELoss(method="contrast")(torch.randn(4, 3, 8))
