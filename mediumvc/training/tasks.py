"""Lightning modules for SingleVC (PSDR -> original) and MediumVC (SSIF -> original).
Both: masked L1 on normalised log-mels, AdamW, exponential decay in steps; optionally (not in the
paper, LossConfig) a mel patch discriminator's adversarial and feature-matching terms and the content
loss; SingleVC also on other speakers' utterances (content loss + a voice discriminator)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch

from mediumvc.content.loss import content_loss
from mediumvc.errors import MediumVCError
from mediumvc.nets import MediumVC, SingleVC, add_weight_norm
from mediumvc.nets.discriminator import DiscriminatorConfig, MelDiscriminator


@dataclass
class OptimConfig:
    lr: float = 1e-4
    betas: tuple[float, float] = (0.8, 0.99)
    weight_decay: float = 0.01  # the original's config value was ignored: AdamW's default 0.01 applied
    lr_decay: float = 0.995  # ExponentialLR gamma ...
    lr_decay_every: int = 5000  # ... applied every this many steps (the original: every 50/20 epochs)
    warmup_steps: int = 0


@dataclass
class LossConfig:
    """What the networks are trained on. The paper: L1 only (both weights 0). With either weight above
    0 a mel patch discriminator trains beside the network (least squares, its own AdamW) and the network
    also minimises `adversarial` x its least-squares loss + `feature_matching` x the L1 between the
    discriminator's feature maps of the predicted and the real mel: against L1's smoothing."""

    adversarial: float = 0.0
    feature_matching: float = 0.0
    disc_lr: float = 2e-4
    disc_channels: int = 32
    # `content` x the content loss (`mediumvc.content.loss`) of the frozen content model in `content_model` (a
    # directory from recipes/content-model/train.py --export): the output must say the reference's phones.
    content: float = 0.0
    content_model: str | None = None
    # SingleVC with data.foreign: `voice` x the least-squares adversarial loss of a second discriminator
    # that tells the SingleVC voice's own mels from SingleVC's output on other speakers' inputs.
    voice: float = 0.0

    def __post_init__(self) -> None:
        if min(self.adversarial, self.feature_matching) < 0 or self.disc_lr <= 0 or self.disc_channels < 1:
            raise MediumVCError(
                f"loss: adversarial and feature_matching must be >= 0, disc_lr > 0 and disc_channels >= 1, got {self}"
            )
        if self.content < 0 or (self.content > 0 and not self.content_model):
            raise MediumVCError("loss.content must be >= 0, and above 0 it needs loss.content_model: DIR")
        if self.voice < 0:
            raise MediumVCError(f"loss.voice must be >= 0, not {self.voice}")

    @property
    def adversarial_on(self) -> bool:
        return self.adversarial > 0 or self.feature_matching > 0


def valid_frames(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """(B,) lengths -> (B, frames, 1) bool, True on each utterance's own frames (not padding)."""
    return (torch.arange(frames, device=lengths.device)[None, :] < lengths[:, None]).unsqueeze(-1)


def masked_l1(pred: torch.Tensor, target: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Per utterance: mean |pred - target| over its own frames x 80 bins; then the batch mean."""
    valid = valid_frames(lengths, pred.shape[1])
    per_utt = ((pred - target).abs() * valid).sum(dim=(1, 2)) / (lengths.to(pred.dtype) * pred.shape[2])
    return per_utt.mean()


def lr_lambda(optim: OptimConfig):
    def factor(step: int) -> float:
        warm = min(1.0, (step + 1) / optim.warmup_steps) if optim.warmup_steps else 1.0
        return warm * optim.lr_decay ** (step // max(1, optim.lr_decay_every))

    return factor


def load_content_model(path: str):
    """The frozen content model of `loss.content_model`."""
    from mediumvc.checkpoint import load_part_dir
    from mediumvc.content.loss import frozen

    return frozen(load_part_dir(str(Path(path).expanduser()), "content").net)


class ReconstructionTask(L.LightningModule):
    """Shared training loop; subclasses say what the network sees."""

    def __init__(self, optim: OptimConfig, seed: int = 0, loss: LossConfig | None = None) -> None:
        super().__init__()
        self.optim = optim
        self.seed = seed
        self.loss = loss or LossConfig()
        self.disc = self.voice_disc = None
        self._disc_opts: dict[str, torch.optim.Optimizer] = {}  # by attribute name
        if self.loss.adversarial_on:
            self.disc = self._discriminator("disc")
        if self.loss.voice > 0:
            self.voice_disc = self._discriminator("voice_disc")
        self._content = [load_content_model(self.loss.content_model)] if self.loss.content > 0 else []

    def _discriminator(self, name: str) -> MelDiscriminator:
        disc = MelDiscriminator(DiscriminatorConfig(channels=self.loss.disc_channels))
        # Its own optimiser, stepped inside training_step, so Lightning keeps one optimiser and one
        # global step per batch (resuming and max_steps mean what they say); saved in checkpoints below.
        self._disc_opts[name] = torch.optim.AdamW(disc.parameters(), lr=self.loss.disc_lr, betas=(0.8, 0.99))
        return disc

    def setup(self, stage: str) -> None:
        if self._disc_opts and self.trainer.world_size > 1:
            raise MediumVCError(
                "the discriminators (loss.adversarial / loss.feature_matching / loss.voice) train on one device "
                "only: set trainer.devices=1 and trainer.num_nodes=1, or those loss weights to 0"
            )

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        for name, opt in self._disc_opts.items():
            checkpoint[f"{name}_optimizer"] = opt.state_dict()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        # A run may switch a discriminator on or off when resumed: drop its weights, or start a fresh one.
        state = checkpoint["state_dict"]
        for name in ("disc", "voice_disc"):
            disc, prefix = getattr(self, name), f"{name}."
            if disc is None:
                for key in [k for k in state if k.startswith(prefix)]:
                    del state[key]
            elif not any(k.startswith(prefix) for k in state):
                state.update({prefix + k: v for k, v in disc.state_dict().items()})
            elif f"{name}_optimizer" in checkpoint:
                self._disc_opts[name].load_state_dict(checkpoint[f"{name}_optimizer"])

    def on_train_start(self) -> None:
        for opt in self._disc_opts.values():  # a restored optimiser state stays where it was loaded: follow the weights
            for state in opt.state.values():
                for k, v in state.items():
                    if torch.is_tensor(v) and k != "step":
                        state[k] = v.to(self.device)

    def on_train_batch_start(self, batch, batch_idx):
        # Dropout noise as a function of (seed, step, rank): a resumed run draws exactly what an
        # uninterrupted one would have, with no RNG state to save.
        torch.manual_seed((self.seed * 1_000_003 + self.global_step * 9_176 + self.global_rank) % 2**63)

    def predict_batch(self, batch: dict) -> torch.Tensor:
        raise NotImplementedError

    def training_step(self, batch: dict, _):
        n = len(batch["lengths"])
        pred = self.predict_batch(batch)
        loss = l1 = masked_l1(pred, batch["target"], batch["lengths"])
        if self.disc is not None:
            loss = l1 + self.adversarial_terms(pred, batch["target"], batch["lengths"], n)
        if self._content:  # a list: the frozen model stays out of the state dict and the optimiser
            content = content_loss(self.content_model, pred, batch["target"], batch["lengths"])
            self.log("train/content", content, batch_size=n)
            loss = loss + self.loss.content * content
        if "foreign" in batch:
            loss = loss + self.foreign_terms(batch)
        self.log(
            "train/loss", l1, prog_bar=True, batch_size=n
        )  # L1 alone: comparable with runs without the discriminator
        self.log("train/lr", self.trainer.optimizers[0].param_groups[0]["lr"], batch_size=1)
        return loss

    @property
    def content_model(self):
        return self._content[0].to(self.device)

    def foreign_terms(self, batch: dict) -> torch.Tensor:
        """Other speakers' inputs (no target): the weighted content loss against the input itself, and
        with loss.voice the voice discriminator's step and its weighted adversarial loss."""
        raise MediumVCError("only SingleVC trains on other speakers' inputs (data.foreign)")

    def discriminator_step(self, name: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """One least-squares step of discriminator `name` on real against fake mels; returns its loss."""
        disc, opt = getattr(self, name), self._disc_opts[name]
        disc.requires_grad_(True)
        opt.zero_grad(set_to_none=True)
        d_loss = ((disc(real)[0] - 1) ** 2).mean() + (disc(fake.detach())[0] ** 2).mean()
        d_loss.backward()
        opt.step()
        disc.requires_grad_(False)  # the network's loss flows through it, but does not train it
        return d_loss.detach()

    def adversarial_terms(
        self, pred: torch.Tensor, target: torch.Tensor, lengths: torch.Tensor, n: int
    ) -> torch.Tensor:
        """One discriminator step on (target, pred), then the network's weighted adversarial and
        feature-matching loss. Padding frames are zeroed in both, so they tell real from fake nothing."""
        valid = valid_frames(lengths, pred.shape[1]).to(pred.dtype)
        real, fake = target * valid, pred * valid
        d_loss = self.discriminator_step("disc", real, fake)
        logits, fake_features = self.disc(fake)
        with torch.no_grad():
            _, real_features = self.disc(real)
        adv = ((logits - 1) ** 2).mean()
        fm = torch.stack([(f - r).abs().mean() for f, r in zip(fake_features, real_features)]).mean()
        self.log_dict({"train/disc": d_loss.detach(), "train/adv": adv.detach(), "train/fm": fm.detach()}, batch_size=n)
        return self.loss.adversarial * adv + self.loss.feature_matching * fm

    def validation_step(self, batch: dict, batch_idx: int):
        pred = self.predict_batch(batch)
        loss = masked_l1(pred, batch["target"], batch["lengths"])
        self.log("val/loss", loss, prog_bar=True, batch_size=len(batch["lengths"]))
        if "foreign" in batch and self._content:  # words kept on other speakers' held-back utterances
            pred_f = self.net(batch["foreign"], batch["foreign_mask"])
            content = content_loss(self.content_model, pred_f, batch["foreign"], batch["foreign_lengths"])
            self.log("val/foreign_content", content, batch_size=len(batch["foreign_lengths"]))
        if (
            batch_idx == 0
            and self.samples_dir is not None
            and self.trainer.is_global_zero
            and not self.trainer.sanity_checking
        ):
            n = int(batch["lengths"][0])
            self.write_sample(pred[0, :n].float(), batch["target"][0, :n].float(), batch["input"][0, :n].float())

    samples_dir = None  # set by the trainer setup: where validation WAVs and mel images go

    @torch.no_grad()
    def write_sample(self, pred: torch.Tensor, target: torch.Tensor, source: torch.Tensor) -> None:
        """Vocode the first validation item (input, prediction, target) to WAV and log them with
        their mel images to TensorBoard: listen to training, not only read the loss."""
        from mediumvc.audio import SAMPLE_RATE, save_wav
        from mediumvc.mel import denormalize_mel
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
        params = [
            p
            for name, p in self.named_parameters()
            if p.requires_grad and not name.startswith(("disc.", "voice_disc."))
        ]
        opt = torch.optim.AdamW(
            params, lr=self.optim.lr, betas=tuple(self.optim.betas), weight_decay=self.optim.weight_decay
        )
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(self.optim))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


class SingleVCTask(ReconstructionTask):
    def __init__(self, net: SingleVC, optim: OptimConfig, seed: int = 0, loss: LossConfig | None = None) -> None:
        super().__init__(optim, seed, loss)
        self.net = add_weight_norm(net)

    def predict_batch(self, batch: dict) -> torch.Tensor:
        return self.net(batch["input"], batch["mask"])

    def foreign_terms(self, batch: dict) -> torch.Tensor:
        lengths = batch["foreign_lengths"]
        pred = self.net(batch["foreign"], batch["foreign_mask"])
        content = content_loss(self.content_model, pred, batch["foreign"], lengths)
        self.log("train/foreign_content", content, batch_size=len(lengths))
        loss = self.loss.content * content
        if self.voice_disc is not None:
            own = batch["target"] * valid_frames(batch["lengths"], batch["target"].shape[1]).to(pred.dtype)
            fake = pred * valid_frames(lengths, pred.shape[1]).to(pred.dtype)
            d_loss = self.discriminator_step("voice_disc", own, fake)
            adv = ((self.voice_disc(fake)[0] - 1) ** 2).mean()
            self.log_dict({"train/voice_disc": d_loss, "train/voice_adv": adv.detach()}, batch_size=len(lengths))
            loss = loss + self.loss.voice * adv
        return loss


class MediumVCTask(ReconstructionTask):
    """SingleVC is frozen. `singlevc_dropout`: the original left SingleVC in train mode, so its
    Convertor dropout stayed on while MediumVC trained (faithful: True); False freezes it in eval mode.
    `precomputed_ssif`: batches already hold SSIF (`mediumvc precompute-ssif`), so SingleVC is not run."""

    def __init__(
        self,
        net: MediumVC,
        optim: OptimConfig,
        singlevc_dropout: bool = True,
        seed: int = 0,
        precomputed_ssif: bool = False,
        speaker_net: torch.nn.Module | None = None,
        loss: LossConfig | None = None,
    ) -> None:
        super().__init__(optim, seed, loss)
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
        detail = batch.get("detail_mel")  # only for source_detail; then the target's warped copy, never the target
        if self.precomputed_ssif:
            return self.net.from_ssif(batch["input"], batch["dvector"], detail)
        return self.net(batch["input"], batch["dvector"], batch["mask"], detail)
