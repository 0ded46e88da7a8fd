"""Lightning modules for SingleVC (PSDR -> original, spec §2.4) and MediumVC (SSIF -> original,
spec §3.5-3.6). Both: masked L1 on normalised log-mels, AdamW, exponential decay in steps."""

from __future__ import annotations

from dataclasses import dataclass

import lightning as L
import torch

from mediumvc.nets import MediumVC, SingleVC, add_weight_norm


@dataclass
class OptimConfig:
    lr: float = 1e-4
    betas: tuple[float, float] = (0.8, 0.99)
    weight_decay: float = 0.01  # the original's config value was ignored: AdamW's default 0.01 applied
    lr_decay: float = 0.995  # ExponentialLR gamma ...
    lr_decay_every: int = 5000  # ... applied every this many steps (the original: every 50/20 epochs)
    warmup_steps: int = 0


def masked_l1(pred: torch.Tensor, target: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Per utterance: mean |pred - target| over its own frames x 80 bins; then the batch mean."""
    valid = (torch.arange(pred.shape[1], device=pred.device)[None, :] < lengths[:, None]).unsqueeze(-1)
    per_utt = ((pred - target).abs() * valid).sum(dim=(1, 2)) / (lengths.to(pred.dtype) * pred.shape[2])
    return per_utt.mean()


def lr_lambda(optim: OptimConfig):
    def factor(step: int) -> float:
        warm = min(1.0, (step + 1) / optim.warmup_steps) if optim.warmup_steps else 1.0
        return warm * optim.lr_decay ** (step // max(1, optim.lr_decay_every))

    return factor


class ReconstructionTask(L.LightningModule):
    """Shared training loop; subclasses say what the network sees."""

    def __init__(self, optim: OptimConfig, seed: int = 0) -> None:
        super().__init__()
        self.optim = optim
        self.seed = seed

    def on_train_batch_start(self, batch, batch_idx):
        # Dropout noise as a function of (seed, step, rank): a resumed run draws exactly what an
        # uninterrupted one would have, with no RNG state to save.
        torch.manual_seed((self.seed * 1_000_003 + self.global_step * 9_176 + self.global_rank) % 2**63)

    def predict_batch(self, batch: dict) -> torch.Tensor:
        raise NotImplementedError

    def training_step(self, batch: dict, _):
        loss = masked_l1(self.predict_batch(batch), batch["target"], batch["lengths"])
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["lengths"]))
        self.log("train/lr", self.trainer.optimizers[0].param_groups[0]["lr"], batch_size=1)
        return loss

    def validation_step(self, batch: dict, batch_idx: int):
        pred = self.predict_batch(batch)
        loss = masked_l1(pred, batch["target"], batch["lengths"])
        self.log("val/loss", loss, prog_bar=True, batch_size=len(batch["lengths"]))
        if batch_idx == 0 and self.samples_dir is not None and self.trainer.is_global_zero and not self.trainer.sanity_checking:
            n = int(batch["lengths"][0])
            self.write_sample(pred[0, :n].float(), batch["target"][0, :n].float(), batch["input"][0, :n].float())

    samples_dir = None  # set by the trainer setup: where validation WAVs and mel images go

    @torch.no_grad()
    def write_sample(self, pred: torch.Tensor, target: torch.Tensor, source: torch.Tensor) -> None:
        """Vocode the first validation item (input, prediction, target) to WAV and log them with
        their mel images to TensorBoard: listen to training, not only read the loss."""
        from mediumvc.audio import SAMPLE_RATE, denormalize_mel, save_wav
        from mediumvc.vocoder import load_hifigan

        if not hasattr(self, "_vocoder"):
            object.__setattr__(self, "_vocoder", load_hifigan().to(self.device))  # not a submodule: never saved
        step = self.global_step
        tb = next((lg.experiment for lg in self.loggers if hasattr(lg.experiment, "add_audio")), None)
        for name, mel in (("input", source), ("predicted", pred.clamp(0, 1)), ("target", target)):
            wav = self._vocoder(denormalize_mel(mel).T.unsqueeze(0).to(self.device))[0, 0].cpu()
            save_wav(self.samples_dir / f"step-{step:08d}-{name}.wav", wav.numpy(), SAMPLE_RATE)
            if tb is not None:
                tb.add_audio(f"val/{name}", wav.unsqueeze(0), step, SAMPLE_RATE)
                image = mel.T.flip(0).clamp(0, 1).cpu()  # (80, T), low frequencies at the bottom
                tb.add_image(f"val/{name}_mel", image.unsqueeze(0).expand(3, -1, -1), step)

    def configure_optimizers(self):
        params = [p for p in self.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=self.optim.lr, betas=tuple(self.optim.betas), weight_decay=self.optim.weight_decay)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(self.optim))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


class SingleVCTask(ReconstructionTask):
    def __init__(self, net: SingleVC, optim: OptimConfig, seed: int = 0) -> None:
        super().__init__(optim, seed)
        self.net = add_weight_norm(net)

    def predict_batch(self, batch: dict) -> torch.Tensor:
        return self.net(batch["input"], batch["mask"])


class MediumVCTask(ReconstructionTask):
    """SingleVC is frozen. `singlevc_dropout`: the original left SingleVC in train mode, so its
    Convertor dropout stayed on while MediumVC trained (faithful: True); False freezes it in eval mode.
    `precomputed_ssif`: batches already hold SSIF (`mediumvc precompute-ssif`), so SingleVC is not run."""

    def __init__(self, net: MediumVC, optim: OptimConfig, singlevc_dropout: bool = True, seed: int = 0,
                 precomputed_ssif: bool = False, speaker_net: torch.nn.Module | None = None) -> None:
        super().__init__(optim, seed)
        self.net = net
        self.speaker_net = speaker_net  # frozen; kept in checkpoints so export can ship it (batches hold its d-vectors)
        add_weight_norm(net.content_encoder)
        add_weight_norm(net.decoder)
        if net.singlevc is not None:
            net.singlevc.requires_grad_(False)
        self.singlevc_dropout = singlevc_dropout
        self.precomputed_ssif = precomputed_ssif

    def on_train_batch_start(self, batch, batch_idx):
        super().on_train_batch_start(batch, batch_idx)
        if self.net.singlevc is not None:
            self.net.singlevc.train(self.singlevc_dropout)

    def predict_batch(self, batch: dict) -> torch.Tensor:
        if self.precomputed_ssif:
            return self.net.from_ssif(batch["input"], batch["dvector"])
        return self.net(batch["input"], batch["dvector"], batch["mask"])
