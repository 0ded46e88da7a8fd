"""Training `ISTFTVocoder` by distillation: it learns to make the waveform HiFi-GAN V1 makes from the same mel.

The data is a folder of `<id>.npz` items (mel (T, 80) float16, normalised; wav (T * 256,) float16: the
teacher's waveform of that mel) and `index.tsv` (id, speaker, kind, frames, split; split "val" = held out), as
`recipes/fast-vocoder/prepare.py` writes it. Each crop is vocoded with `margin` frames on both sides and the
loss is taken on its middle, so the student learns from frames that saw as much context as at inference.
Checkpoints are written atomically and a run resumes exactly: a batch is a function of (seed, step).
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.utils.parametrizations import weight_norm

from mediumvc.audio import HOP_LENGTH, SAMPLE_RATE
from mediumvc.errors import MediumVCError
from mediumvc.mel import N_FFT, PAD, MelSpectrogram, denormalize_mel
from mediumvc.training.snapshot import read_snapshot, restore, write_snapshot
from mediumvc.vocoder.istft import ISTFTVocoder, ISTFTVocoderConfig

CHECKPOINT = "last.pt"
RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))  # (n_fft, hop) of the multi-resolution STFT loss


@dataclass
class DistillConfig:
    """crop / margin: frames scored per crop and frames of context on each side of it.
    Loss weights: spectral convergence + log-magnitude over three STFT resolutions (`stft`), L1 of the log-mel
    (`mel`), L1 of the complex 1024-point STFT (`complex`), which asks for the teacher's phase too, and the
    phase of the student's own frames against the teacher's on the same grid (`phase`: `phase_loss`).
    adversarial: weight of a spectrogram discriminator's least-squares loss plus twice its feature matching
    (0 = none); a run may switch it on when resumed (the discriminator then starts fresh)."""

    model: ISTFTVocoderConfig = field(default_factory=ISTFTVocoderConfig)
    steps: int = 50000
    batch: int = 16
    crop: int = 48
    margin: int = 8
    lr: float = 5e-4
    warmup: int = 500
    stft: float = 1.0
    mel: float = 1.0
    complex: float = 0.5
    phase: float = 0.0
    adversarial: float = 0.0
    ckpt_every: int = 250
    eval_every: int = 1000
    eval_items: int = 16
    seed: int = 0


@dataclass(eq=False)
class Item:
    speaker: str
    kind: str
    mel: np.ndarray  # (T, 80) float16, normalised
    wav: np.ndarray  # (T * 256,) float16, the teacher's


def load_items(data: str | Path) -> tuple[list[Item], list[Item]]:
    """(training items, held-out items) of a prepared folder."""
    index = Path(data) / "index.tsv"
    if not index.is_file():
        raise MediumVCError(f"{data} holds no index.tsv: run recipes/fast-vocoder/prepare.py first")
    train, held = [], []
    with index.open(newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            path = Path(data) / f"{row['id']}.npz"
            if not path.is_file():
                continue
            with np.load(path, allow_pickle=False) as z:
                item = Item(row["speaker"], row["kind"], z["mel"], z["wav"])
            if len(item.wav) != len(item.mel) * HOP_LENGTH:
                raise MediumVCError(f"{path}: {len(item.mel)} mel frames need {len(item.mel) * HOP_LENGTH} samples")
            (held if row["split"] == "val" else train).append(item)
    return train, held


def interleaved(items: list, kind=lambda item: item.kind) -> list:
    """Items of each kind in turn (real, converted, real, ...), so the first few held out cover both; `kind`
    reads an item's kind (index rows too: `lambda row: row["kind"]`)."""
    kinds = {}
    for item in items:
        kinds.setdefault(kind(item), []).append(item)
    rounds = max((len(group) for group in kinds.values()), default=0)
    return [group[i] for i in range(rounds) for group in kinds.values() if i < len(group)]


def make_batch(items: list[Item], config: DistillConfig, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, crop + 2 * margin, 80) normalised mels and (B, crop * 256) teacher samples of their middles."""
    rng = np.random.default_rng([config.seed, step])
    span = config.crop + 2 * config.margin
    mels, wavs = [], []
    for i in rng.integers(0, len(items), size=config.batch):
        item = items[i]
        start = int(rng.integers(0, max(1, len(item.mel) - span + 1)))
        mel = np.zeros((span, item.mel.shape[1]), np.float32)  # 0 = silence on the normalised scale
        piece = item.mel[start : start + span]
        mel[: len(piece)] = piece
        wav = np.zeros(config.crop * HOP_LENGTH, np.float32)
        a = (start + config.margin) * HOP_LENGTH
        piece = item.wav[a : a + len(wav)]
        wav[: len(piece)] = piece
        mels.append(mel)
        wavs.append(wav)
    return torch.from_numpy(np.stack(mels)), torch.from_numpy(np.stack(wavs))


def _stft(wav: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    window = torch.hann_window(n_fft, device=wav.device)
    return torch.stft(wav, n_fft, hop, n_fft, window, return_complex=True)


class DistillLoss(torch.nn.Module):
    """Student and teacher waveforms (B, N) -> the weighted loss and its terms."""

    def __init__(self, config: DistillConfig) -> None:
        super().__init__()
        self.config = config
        self.mel = MelSpectrogram()

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor, spectra: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """spectra: the student's frames (B, N / 256, 513) behind `pred`, for the phase term."""
        c = self.config
        terms = {"stft": pred.new_zeros(()), "mel": pred.new_zeros(()), "complex": pred.new_zeros(())}
        for n_fft, hop in RESOLUTIONS:
            p, t = _stft(pred, n_fft, hop), _stft(target, n_fft, hop)
            pm, tm = p.abs().clamp_min(1e-5), t.abs().clamp_min(1e-5)
            convergence = torch.linalg.norm(tm - pm) / torch.linalg.norm(tm).clamp_min(1e-5)
            terms["stft"] = terms["stft"] + (convergence + F.l1_loss(pm.log(), tm.log())) / len(RESOLUTIONS)
            if n_fft == 1024:
                terms["complex"] = F.l1_loss(torch.view_as_real(p), torch.view_as_real(t))
        terms["mel"] = F.l1_loss(self.mel(pred), self.mel(target))
        total = c.stft * terms["stft"] + c.mel * terms["mel"] + c.complex * terms["complex"]
        if c.phase and spectra is not None:
            terms["phase"] = phase_loss(spectra, target)
            total = total + c.phase * terms["phase"]
        return total, {k: round(float(v.detach()), 4) for k, v in terms.items()}


def phase_loss(spectra: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The distance of the student's frame phases to the teacher's frames on the same grid: spectra (B, T, 513)
    of frames t, each covering samples t * 256 - 384 .. + 1024 of the crop, and the teacher's samples
    (B, T * 256), framed alike where they hold a whole frame (t = 2 .. T - 3) -> a scalar. The mean of three
    distances on the circle, each weighted by the teacher's magnitude: of the phase, of its step across bins
    (group delay) and of its step across frames (instantaneous frequency)."""
    window = torch.hann_window(N_FFT, device=target.device)
    teacher = torch.fft.rfft(target[:, 2 * HOP_LENGTH - PAD :].unfold(-1, N_FFT, HOP_LENGTH) * window)
    student = spectra[:, 2 : 2 + teacher.shape[1]]
    weight = teacher.abs()
    weight = weight / weight.mean(dim=(1, 2), keepdim=True).clamp_min(1e-8)
    s, t = student.angle(), teacher.angle()
    wrapped = lambda x: (x - 2 * math.pi * torch.round(x / (2 * math.pi))).abs()
    same = (weight * wrapped(s - t)).mean()
    group_delay = (weight[..., 1:] * wrapped(s.diff(dim=-1) - t.diff(dim=-1))).mean()
    frequency = (weight[:, 1:] * wrapped(s.diff(dim=1) - t.diff(dim=1))).mean()
    return (same + group_delay + frequency) / 3


class SpectrogramDiscriminator(torch.nn.Module):
    """The teacher's waveform or the student's? Judged on log-magnitude spectrograms at the loss's three
    resolutions: waveforms (B, N) -> per resolution (logits, feature maps)."""

    def __init__(self, channels: int = 16) -> None:
        super().__init__()

        def stack() -> torch.nn.ModuleList:
            # Strides along frequency: the spectrograms have hundreds of bins and few frames per crop.
            convs = [torch.nn.Conv2d(1, channels, (9, 3), stride=(4, 1), padding=(4, 1))]
            convs += [torch.nn.Conv2d(channels, channels, (9, 3), stride=(2, 1), padding=(4, 1)) for _ in range(3)]
            convs += [torch.nn.Conv2d(channels, channels, 3, padding=1), torch.nn.Conv2d(channels, 1, 3, padding=1)]
            return torch.nn.ModuleList(weight_norm(conv) for conv in convs)

        self.stacks = torch.nn.ModuleList(stack() for _ in RESOLUTIONS)

    def forward(self, wav: torch.Tensor) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        out = []
        for (n_fft, hop), convs in zip(RESOLUTIONS, self.stacks):
            x = _stft(wav, n_fft, hop).abs().clamp_min(1e-5).log().unsqueeze(1)  # (B, 1, bins, frames)
            features = []
            for conv in convs[:-1]:
                x = F.leaky_relu(conv(x), 0.1)
                features.append(x)
            out.append((convs[-1](x), features))
        return out


def discriminator_loss(disc: SpectrogramDiscriminator, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Least squares: the teacher's waveforms towards 1, the student's towards 0."""
    real, fake = disc(target), disc(pred.detach())
    return sum(((1 - r) ** 2).mean() + (f**2).mean() for (r, _), (f, _) in zip(real, fake))


def generator_terms(disc: SpectrogramDiscriminator, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The student's least-squares term plus twice the L1 distance of its feature maps to the teacher's."""
    with torch.no_grad():
        real = disc(target)
    fake = disc(pred)
    adversarial = sum(((1 - f) ** 2).mean() for f, _ in fake)
    matching = sum(F.l1_loss(a, b) for (_, fa), (_, ra) in zip(fake, real) for a, b in zip(fa, ra))
    return adversarial + 2 * matching


def student_frames(model: ISTFTVocoder, mel: torch.Tensor, margin: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised mels (B, T, 80) -> the student's spectra (B, T - 2 * margin, 513) and samples
    (B, (T - 2 * margin) * 256) of the middle frames."""
    spectra = model.spectrum(denormalize_mel(mel.to(model.window.device)).transpose(1, 2))
    wav = model.synthesize(spectra)[:, 0]
    frames = slice(margin, spectra.shape[1] - margin)
    return spectra[:, frames], wav[:, frames.start * HOP_LENGTH : frames.stop * HOP_LENGTH]


def student_wave(model: ISTFTVocoder, mel: torch.Tensor, margin: int) -> torch.Tensor:
    """Normalised mels (B, T, 80) -> the student's samples (B, (T - 2 * margin) * 256) of the middle frames."""
    return student_frames(model, mel, margin)[1]


@torch.inference_mode()
def evaluate(model: ISTFTVocoder, items: list[Item], loss: DistillLoss) -> dict[str, float | None]:
    """Whole held-out items: the loss against the teacher and PESQ-wb against it (None without `pesq`)."""
    model.eval()
    losses, scores = [], []
    for item in items:
        mel = torch.from_numpy(item.mel.astype(np.float32)).unsqueeze(0)
        pred = student_wave(model, mel, 0)
        target = torch.from_numpy(item.wav.astype(np.float32)).unsqueeze(0).to(pred.device)
        losses.append(loss(pred, target)[0].item())
        scores.append(pesq_wb(target[0].cpu().numpy(), pred[0].cpu().numpy()))
    scores = [s for s in scores if s is not None]
    return {
        "val_loss": round(float(np.mean(losses)), 4) if losses else None,
        "pesq": round(float(np.mean(scores)), 3) if scores else None,
    }


def pesq_wb(reference: np.ndarray, degraded: np.ndarray) -> float | None:
    """PESQ-wb of `degraded` against `reference` (22.05 kHz, resampled to 16 kHz); None without the packages
    or for audio PESQ cannot score (e.g. no speech)."""
    try:
        import librosa
        from pesq import pesq
    except ImportError:
        return None
    to16 = lambda y: librosa.resample(y.astype(np.float32), orig_sr=SAMPLE_RATE, target_sr=16000)
    try:
        return float(pesq(16000, to16(reference), to16(degraded), "wb"))
    except Exception:  # pesq raises its own errors for silent or too-short audio
        return None


def _lr_factor(step: int, config: DistillConfig, progress: float | None = None) -> float:
    """Linear warm-up, then a cosine decay to a tenth at the end: the last step, or `progress` (0-1) when the run
    has its own measure of it (a plain float: checkpoints load weights-only)."""
    progress = min(1.0, step / config.steps if progress is None else progress)
    return min(1.0, (step + 1) / config.warmup) * (0.1 + 0.45 * (1 + math.cos(math.pi * progress)))


def distill(
    data: str | Path,
    out: str | Path,
    config: DistillConfig = DistillConfig(),
    log=print,
    until: int | None = None,
    device: str = "cpu",
    init: dict[str, torch.Tensor] | None = None,
    seconds: float | None = None,
) -> Path:
    """Train (or resume from OUT/last.pt) to `config.steps`, or pause at step `until`, on `device`; returns the
    checkpoint. OUT/log.jsonl gets one line per evaluation.

    init: the student's weights to start from when OUT has no checkpoint yet (e.g. an earlier run's export).
    seconds: a time box: stop (checkpointed and evaluated) after this long, the learning rate decaying over
        the box or the steps, whichever ends first.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    train_items, held = load_items(data)
    if not train_items:
        raise MediumVCError(f"{data}: no training items (every item is held out, or the folder is empty)")
    span = config.crop + 2 * config.margin
    if not any(len(item.mel) >= span for item in train_items):
        raise MediumVCError(f"{data}: no item has {span} frames; lower crop or margin")
    held = interleaved(held)[: config.eval_items]
    torch.manual_seed(config.seed)  # the initial weights depend on the seed only
    model = ISTFTVocoder(config.model)
    if init is not None:
        model.load_state_dict(init)
    model.to(device)
    loss_fn = DistillLoss(config).to(device)
    t0 = time.time()
    box = (lambda s: max(s / config.steps, (time.time() - t0) / seconds)) if seconds else (lambda s: None)
    optim = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=(0.8, 0.99), weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: _lr_factor(s, config, box(s)))
    parts = {"model": model, "optim": optim, "sched": sched}
    step = 0
    ckpt = out / CHECKPOINT
    if snapshot := read_snapshot(ckpt, device):
        step = restore(snapshot, parts)
        log(f"resumed at step {step}")
    disc = None
    if config.adversarial > 0:
        disc = SpectrogramDiscriminator().to(device)
        disc_optim = torch.optim.AdamW(disc.parameters(), lr=config.lr, betas=(0.8, 0.99), weight_decay=0.01)
        for group in disc_optim.param_groups:
            group["initial_lr"] = config.lr
        # A discriminator that joins a run later follows the run's learning-rate schedule from where it is.
        disc_sched = torch.optim.lr_scheduler.LambdaLR(
            disc_optim, lambda s: _lr_factor(s, config, box(s)), last_epoch=step - 1
        )
        disc_parts = {"disc": disc, "disc_optim": disc_optim, "disc_sched": disc_sched}
        if "disc" in snapshot:
            restore(snapshot, disc_parts)
        elif step > 0:
            log("the discriminator starts now")
        parts.update(disc_parts)
    stop = config.steps if until is None else min(until, config.steps)
    while step < stop:
        model.train()
        mel, target = make_batch(train_items, config, step)
        target = target.to(device)
        spectra, pred = student_frames(model, mel, config.margin)
        loss, terms = loss_fn(pred, target, spectra)
        if disc is not None:
            disc_loss = discriminator_loss(disc, pred, target)
            disc_optim.zero_grad()
            disc_loss.backward()
            disc_optim.step()
            disc_sched.step()
            adversarial = generator_terms(disc, pred, target)
            loss = loss + config.adversarial * adversarial
            terms.update(disc=round(float(disc_loss.detach()), 4), adv=round(float(adversarial.detach()), 4))
        optim.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        optim.step()
        sched.step()
        step += 1
        if seconds and time.time() - t0 >= seconds:
            stop = step
        if step % config.ckpt_every == 0 or step == stop:
            write_snapshot(ckpt, step, config, parts)
        if step % config.eval_every == 0 or step == config.steps or (seconds and step == stop):
            row = {"step": step, **terms, "seconds": round(time.time() - t0, 1), **evaluate(model, held, loss_fn)}
            with (out / "log.jsonl").open("a") as f:
                f.write(json.dumps(row) + "\n")
            log(json.dumps(row))
    return ckpt
