"""Precomputed SSIF: a frozen SingleVC's outputs for every store item, computed once.

MediumVC's input is SingleVC's output. SingleVC is frozen, so instead of running it in
every training step it can be run once per utterance (the whole utterance, as at inference) and
the result read like a mel. Layout, beside the store or anywhere:

    SSIF_DIR/ssif.json          which SingleVC (its weights' SHA-256) and store made it, variants, dropout
    SSIF_DIR/items/<uid>.npy    (K, T, 80) float16, clamped to [0, 1]: K variants of one utterance

With `dropout=True` each variant is drawn with SingleVC's Convertor dropout on, like the original,
which left SingleVC in train mode while MediumVC trained; K variants keep some of that noise.
Items are written atomically and skipped when present, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from mediumvc.checkpoint import weights_digest
from mediumvc.data.store import item_path, read_item, read_manifest
from mediumvc.errors import MediumVCError
from mediumvc.files import atomic_write

FORMAT = "mediumvc-ssif"


def ssif_path(root: Path, uid: str) -> Path:
    return root / "items" / f"{uid}.npy"


def read_ssif_info(root: str | Path) -> dict:
    path = Path(root) / "ssif.json"
    try:
        info = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise MediumVCError(
            f"{root} is not a precomputed SSIF folder ({e.__class__.__name__}: {path}): "
            "run `mediumvc precompute-ssif` first"
        ) from None
    if info.get("format") != FORMAT:
        raise MediumVCError(f"{path} is not a {FORMAT} file")
    return info


def read_ssif(root: str | Path, uid: str) -> np.ndarray:
    path = ssif_path(Path(root), uid)
    if not path.is_file():
        raise MediumVCError(f"{path}: no SSIF for {uid}: run `mediumvc precompute-ssif` again to complete the folder")
    return np.load(path, allow_pickle=False)


def _save_npy(path: str, array: np.ndarray) -> None:
    with open(path, "wb") as fh:  # a file object: np.save would add '.npy' to the temp name
        np.save(fh, array, allow_pickle=False)


@torch.no_grad()
def precompute_ssif(
    store: str | Path,
    singlevc_dir: str | Path,
    out: str | Path,
    variants: int = 1,
    dropout: bool = False,
    seed: int = 0,
    progress: bool = True,
    device: str = "cpu",
) -> dict:
    """Run the SingleVC in `singlevc_dir` over every item of `store`; write SSIF into `out`.

    `device`: "cpu", "cuda", "auto". Dropout draws differ between devices, so SSIF made with
    `dropout=True` matches bit for bit only on the device that made it.
    """
    from tqdm import tqdm

    from mediumvc.checkpoint import load_part_dir
    from mediumvc.runtime import resolve_device

    if variants < 1:
        raise MediumVCError(f"--variants must be at least 1, got {variants}")
    dev = resolve_device(device)
    net = load_part_dir(singlevc_dir, "singlevc").net.to(dev)  # first: a clear error for a missing or broken directory
    out = Path(out)
    info = {
        "format": FORMAT,
        "version": 1,
        "singlevc": str(Path(singlevc_dir).resolve()),
        "singlevc_sha256": weights_digest(singlevc_dir),
        "store": str(Path(store).resolve()),
        "variants": variants,
        "dropout": dropout,
        "seed": seed,
    }
    if (out / "ssif.json").is_file():
        old = read_ssif_info(out)
        if {k: old.get(k) for k in ("singlevc_sha256", "variants", "dropout", "seed")} != {
            k: info[k] for k in ("singlevc_sha256", "variants", "dropout", "seed")
        }:
            raise MediumVCError(f"{out} holds SSIF of another SingleVC or settings: choose a new folder (or delete it)")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "ssif.json", lambda tmp: Path(tmp).write_text(json.dumps(info, indent=2)))
    net.train(dropout)  # dropout on = the original's train-mode SingleVC; nothing else in it depends on the mode
    rows = read_manifest(store)
    todo = [r for r in rows if not ssif_path(out, r["uid"]).is_file()]
    for row in tqdm(todo, desc="SSIF", unit="utt", disable=not progress):
        mel = torch.from_numpy(read_item(item_path(Path(store), row["uid"]))["mel"].astype(np.float32)).to(dev)
        torch.manual_seed(seed * 1_000_003 + int(hashlib.sha256(row["uid"].encode()).hexdigest()[:12], 16))
        ssif = torch.cat([net(mel[None]).clamp(0.0, 1.0) for _ in range(variants)]).cpu()
        atomic_write(ssif_path(out, row["uid"]), lambda tmp, a=ssif.numpy().astype(np.float16): _save_npy(tmp, a))
    return {"items": len(rows), "computed": len(todo), "skipped_existing": len(rows) - len(todo), "out": str(out)}
