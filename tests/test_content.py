"""The content model: phone labels from pocketsphinx, the model, its training, and the content loss."""

import json

import numpy as np
import pytest
import torch

from mediumvc.audio import load_audio
from mediumvc.content.loss import content_loss, frozen
from mediumvc.content.model import ContentModel, ContentModelConfig
from mediumvc.content.phones import PHONE_INDEX, PHONES, PhoneAligner, segments_to_frames
from mediumvc.content.training import ContentTrainConfig, frame_accuracy, load_items, train_content_model

SMALL = ContentModelConfig(channels=32, layers=2, kernel=5, embed_dim=8, dropout=0.0)
BUMPS = {1: 15, 2: 40, 3: 65}  # synthetic "phones": a spectral bump at these mel bins


def test_segments_land_on_the_mel_frames_whose_centres_they_cover():
    # mel frame t is centred at (256 t + 128) / 22050 s: frames 0-7 lie in the first 0.1 s
    labels = segments_to_frames([("AA", 0, 10), ("SIL", 10, 5), ("+NSN+", 15, 5)], 12)
    assert list(labels[:8]) == [PHONE_INDEX["AA"]] * 8
    assert set(labels[9:11]) == {PHONE_INDEX["SIL"]}  # fillers count as silence
    assert len(labels) == 12 and labels.dtype == np.int16


def test_pocketsphinx_labels_real_speech_with_and_without_text(speech):
    wav = load_audio(speech["p225_003"])
    aligner = PhoneAligner()
    decoded, how = aligner.frame_labels(wav, 22050)
    assert how == "decoded" and len(decoded) == len(wav) // 256
    spoken = decoded[decoded > 0]
    assert len(spoken) > 0.4 * len(decoded) and len(set(spoken.tolist())) >= 8
    hypothesis = aligner._decode(aligner._pcm(wav, 22050))
    aligned, how = aligner.frame_labels(wav, 22050, " ".join(hypothesis))
    assert how == "text" and (aligned == decoded).mean() > 0.9
    # a text far longer than the audio is not forced onto it
    _, how = aligner.frame_labels(wav[:22050], 22050, " ".join(["word"] * 40))
    assert how in ("decoded", "none")


def test_the_model_ignores_the_recording_level():
    model = ContentModel(SMALL).eval()
    mel = torch.rand(1, 50, 80)
    logits, embedding = model(mel)
    assert logits.shape == (1, 50, len(PHONES)) and embedding.shape == (1, 50, 8)
    torch.testing.assert_close(model(mel + 0.2)[0], logits)


def synthetic_item(rng, frames=300, shift=3):
    """Segments of three synthetic phones; the second copy has every bump moved (another "voice")."""
    labels = np.zeros(frames, np.int16)
    t = 0
    while t < frames:
        n = int(rng.integers(8, 25))
        labels[t : t + n] = rng.integers(1, 4)
        t += n
    bins = np.arange(80)
    copies = []
    for offset in (0, shift):
        centre = np.array([BUMPS[int(p)] + offset for p in labels])[:, None]
        mel = (
            0.3 + 0.5 * np.exp(-0.5 * ((bins[None, :] - centre) / 3.0) ** 2) + 0.02 * rng.standard_normal((frames, 80))
        )
        copies.append(mel)
    return np.stack(copies).astype(np.float16), labels


@pytest.fixture(scope="module")
def synthetic_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("content_data")
    rng = np.random.default_rng(0)
    lines = ["id\tspeaker\tframes\thow\tpath"]
    for i in range(12):
        mels, labels = synthetic_item(rng)
        speaker = "syn:a" if i < 10 else "held:b"
        np.savez(root / f"{i:02d}.npz", mels=mels, labels=labels, shifts=np.array([0.0, 2.0], np.float32))
        lines.append(f"{i:02d}\t{speaker}\t{len(labels)}\ttext\t{i}.wav")
    (root / "index.tsv").write_text("\n".join(lines) + "\n")
    return root


def small_config(steps):
    return ContentTrainConfig(
        model=SMALL,
        heldout=("held:*",),
        steps=steps,
        batch=8,
        crop=64,
        lr=3e-3,
        warmup=10,
        ckpt_every=30,
        eval_every=60,
    )


@pytest.fixture(scope="module")
def trained(synthetic_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("content_run")
    ckpt = train_content_model(synthetic_data, out, small_config(120), log=lambda line: None)
    model = ContentModel(SMALL)
    model.load_state_dict(torch.load(ckpt, weights_only=True)["model"])
    return frozen(model), out


def test_training_learns_the_phones_and_holds_them_across_voices(trained, synthetic_data):
    model, out = trained
    held = [item for item in load_items(synthetic_data) if item.speaker == "held:b"]
    assert frame_accuracy(model, held) > 0.9
    assert frame_accuracy(model, held, "shift:2") > 0.85  # the other "voice" of the same words
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert log[-1]["step"] == 120 and log[-1]["clean"] > 0.9


def test_training_resumes_exactly(synthetic_data, tmp_path):
    whole = train_content_model(synthetic_data, tmp_path / "a", small_config(60), log=lambda line: None)
    train_content_model(synthetic_data, tmp_path / "b", small_config(60), log=lambda line: None, until=25)
    resumed = train_content_model(synthetic_data, tmp_path / "b", small_config(60), log=lambda line: None)
    a, b = (torch.load(p, weights_only=True)["model"] for p in (whole, resumed))
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def test_content_loss_is_low_for_the_same_phones_and_high_for_others(trained):
    model, _ = trained
    rng = np.random.default_rng(1)
    mels, _ = synthetic_item(rng)
    reference = torch.from_numpy(mels[0].astype(np.float32)).unsqueeze(0)
    other_voice = torch.from_numpy(mels[1].astype(np.float32)).unsqueeze(0)
    other_words = torch.from_numpy(synthetic_item(np.random.default_rng(2))[0][0].astype(np.float32)).unsqueeze(0)
    same = content_loss(model, other_voice, reference)
    different = content_loss(model, other_words, reference)
    assert float(same) < 0.3 < float(different)
    pred = other_words.clone().requires_grad_(True)
    content_loss(model, pred, reference, torch.tensor([200])).backward()
    assert pred.grad[:, :200].abs().sum() > 0 and pred.grad[:, 200:].abs().sum() == 0  # padding: no gradient
