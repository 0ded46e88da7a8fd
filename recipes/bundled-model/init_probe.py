"""Short probe of MediumVC learning speed under different initialisations (same batches for all).

MediumVC has four residual-free attention layers in series (content encoder and decoder, spec §3).
Randomly initialised, each averages its input over time, so the network starts by predicting the
mean mel (the 'silent plateau'). This trains the same cpu-small network for a few hundred steps
from each init and prints training and held-out-speaker validation L1.

    python recipes/bundled-model/init_probe.py STORE SSIF_DIR --steps 150 \
        --variants init=default init=identity:1 lr=2e-3 batch=32,crop=64
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np
import torch

from mediumvc.config import load_config
from mediumvc.nets import add_weight_norm
from mediumvc.nets.blocks import AttentionNorm
from mediumvc.nets.mediumvc import SpeakerEQ
from mediumvc.training.data import BatchStream, DataConfig, load_items
from mediumvc.training.tasks import masked_l1


def identity_attention(net: torch.nn.Module, scale: float) -> None:
    """Residual-free attention layers start close to identity: q = k = scale*I, v = out = I."""
    for m in net.modules():
        if isinstance(m, AttentionNorm):
            a = m.attention
            d = a.out_proj.weight.shape[0]
            eye = torch.eye(d)
            with torch.no_grad():
                a.in_proj_weight.copy_(torch.cat([scale * eye, scale * eye, eye]))
                a.in_proj_bias.zero_()
                a.out_proj.weight.copy_(eye)
                a.out_proj.bias.zero_()


def add_attention_residuals(net: torch.nn.Module) -> None:
    """Probe only (not a model option): each residual-free attention layer becomes x + layer(x)."""
    for m in net.modules():
        if isinstance(m, AttentionNorm):
            m.forward = lambda x, pad_mask=None, f=m.forward: x + f(x, pad_mask)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("store")
    ap.add_argument("ssif")
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--variants", nargs="+", default=["init=default", "init=identity:1", "init=identity:3"],
                    help="comma-separated key=value (init, lr, batch, crop, prenorm=1, residual=1, skip=1, eq=1); unset keys: default init, lr 1e-3, batch 16, crop 128")
    ap.add_argument("--exclude", nargs="+", default=["librispeech_tc100:*0", "vctk_autovc:p228"])
    args = ap.parse_args()
    torch.set_num_threads(1)
    train_items = load_items(DataConfig(store=args.store, ssif=args.ssif, exclude=args.exclude), need_psdr=False)
    held = load_items(DataConfig(store=args.store, ssif=args.ssif, speakers=args.exclude), need_psdr=False)
    val = [BatchStream(held, "mediumvc", 16, 128, seed=99).batch(i) for i in range(4)]
    for spec in args.variants:
        v = {"init": "default", "lr": "1e-3", "batch": "16", "crop": "128", **dict(kv.split("=") for kv in spec.split(","))}
        init, lr = v["init"], float(v["lr"])
        stream = BatchStream(train_items, "mediumvc", int(v["batch"]), int(v["crop"]), seed=0)
        torch.manual_seed(0)
        cfg = load_config("cpu-small")
        flags = {"attention_prenorm": v.get("prenorm") == "1", "ssif_skip": v.get("skip") == "1"}
        cfg = dataclasses.replace(cfg, mediumvc=dataclasses.replace(cfg.mediumvc, **flags))
        net = cfg.build()
        if init.startswith("identity"):
            identity_attention(net, float(init.split(":")[1]))
        if v.get("residual") == "1":
            add_attention_residuals(net)
        add_weight_norm(net.content_encoder)
        add_weight_norm(net.decoder)
        eq = SpeakerEQ(256, 80) if v.get("eq") == "1" else None  # the package's speaker_eq, applied outside the net
        params = net.trainable_parameters() + (list(eq.parameters()) if eq else [])
        opt = torch.optim.AdamW(params, lr=lr, betas=(0.8, 0.99), weight_decay=0.01)
        predict = lambda b: net.from_ssif(b["input"], b["dvector"]) if eq is None else eq(net.from_ssif(b["input"], b["dvector"]), b["dvector"])
        warm = 50
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm))
        losses, start = [], time.time()
        net.train()
        for step in range(args.steps):
            b = stream.batch(step)
            loss = masked_l1(predict(b), b["target"], b["lengths"])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        net.eval()
        with torch.no_grad():
            val_loss = float(np.mean([float(masked_l1(predict(b), b["target"], b["lengths"])) for b in val]))
            # the plateau: output variation over time relative to the target's (0 = one frame repeated)
            moving = float(np.mean([float(predict(b).std(1).mean() / b["target"].std(1).mean()) for b in val]))
        print(json.dumps({"variant": spec, "steps": args.steps, "train_first20": float(np.mean(losses[:20])),
                          "train_last20": float(np.mean(losses[-20:])), "val_heldout": val_loss, "time_std_ratio": moving, "seconds": round(time.time() - start)}), flush=True)


if __name__ == "__main__":
    main()
