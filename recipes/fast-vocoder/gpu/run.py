"""One device call: make V1's waveforms of a pack's mels (and of varied copies), then distil several runs at once.

    python recipes/fast-vocoder/gpu/run.py PACK WORK OUT [--copies 3] [--minutes 6.5] \
        --run NAME[:TRAIN_OPTION ...] [--run ...]

Each training item becomes --copies items: the mel as packed (dequantised with a dither of one quantisation
step), then copies with a random level (-6 to +3 dB) and a random stretch of the mel axis (+-8 %), so the student
sees more of the teacher's function than the pack holds. Held-out items stay as packed. Each run is train.py on
the GPU, time-boxed to --minutes, its options after the colon (e.g. `adv:--adversarial=0.1`); it starts from
PACK/init unless its options name another `--init` or set sizes (`fresh:--set=dim=512`). OUT/NAME.tar.NN (15 MiB pieces: `cat` them into
one tar) holds its export in fp16 and its log.jsonl; OUT/logs.txt every run's output.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).parent))
from pack import SCALE, dequantise, unpack_mels  # noqa: E402

from mediumvc.files import atomic_savez  # noqa: E402
from mediumvc.vocoder import MelVocoder, load_hifigan  # noqa: E402

TRAIN = Path(__file__).parents[1] / "train.py"


def varied(mel: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random level (in the normalised scale's units: 1 = 11.5 nepers) and stretch of the mel axis."""
    level = rng.uniform(-0.06, 0.03)
    stretch = rng.uniform(0.92, 1.08)
    bins = np.arange(mel.shape[1])
    warped = np.stack([np.interp(bins * stretch, bins, frame) for frame in mel])
    return np.clip(warped + level, 0.0, None)


def make_data(pack: Path, data: Path, copies: int, device: str) -> int:
    """WORK/data as prepare.py writes it, the waveforms from V1 in fp32 (no TF32): returns the item count."""
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    teacher = MelVocoder(load_hifigan(pack / "v1.safetensors"), device, "fp32")
    data.mkdir(parents=True, exist_ok=True)
    rows = ["id\tspeaker\tkind\tframes\tsplit"]
    for n, (row, q) in enumerate(unpack_mels(pack)):
        rng = np.random.default_rng(n)
        for k in range(1 if row["split"] == "val" else copies):
            mel = dequantise(q)
            if row["split"] != "val":
                mel = mel + rng.uniform(-0.5, 0.5, mel.shape) * (SCALE / 255)
            if k > 0:
                mel = varied(mel, rng)
            mel = torch.from_numpy(mel.astype(np.float16).astype(np.float32))
            key = f"{row['id']}-{k}"
            atomic_savez(data / f"{key}.npz", mel=mel.numpy().astype(np.float16), wav=teacher(mel).astype(np.float16))
            rows.append(f"{key}\t{row['speaker']}\t{row['kind']}\t{len(mel)}\t{row['split']}")
    (data / "index.tsv").write_text("\n".join(rows) + "\n")
    torch.backends.cudnn.allow_tf32 = True
    return len(rows) - 1


def bring_back(run: Path, out: Path, name: str, piece: int = 15 << 20) -> None:
    """The run's export (weights in fp16) and log.jsonl as one tar, in pieces small enough to come back."""
    weights = run / "export" / "model.safetensors"
    save_file({k: v.half().contiguous() for k, v in load_file(str(weights)).items()}, str(weights))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(run / "export", arcname="export")
        tar.add(run / "log.jsonl", arcname="log.jsonl")
    data = buffer.getvalue()
    for n, start in enumerate(range(0, len(data), piece)):
        (out / f"{name}.tar.{n:02d}").write_bytes(data[start : start + piece])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pack", type=Path)
    ap.add_argument("work", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--copies", type=int, default=3)
    ap.add_argument("--minutes", type=float, default=6.5)
    ap.add_argument("--threads", type=int, default=4, help="CPU threads per run")
    ap.add_argument("--device", default="cuda", help="cuda (cpu: a dry run of the whole call)")
    ap.add_argument("--run", action="append", required=True, metavar="NAME[:OPTIONS]")
    args = ap.parse_args()
    t0 = time.time()
    items = make_data(args.pack, args.work / "data", args.copies, args.device)
    print(f"{items} items made in {time.time() - t0:.0f} s", flush=True)
    procs = {}
    for spec in args.run:
        name, _, options = spec.partition(":")
        cmd = [sys.executable, str(TRAIN), str(args.work / "data"), str(args.work / name), "--device", args.device]
        cmd += ["--steps", "1000000", "--eval-every", "2000", "--minutes", str(args.minutes)]
        cmd += ["--threads", str(args.threads), "--export", str(args.work / name / "export")]
        for option in options.split():  # --name=value, or a further value of the option before it
            cmd += option.split("=", 1) if option.startswith("--") else [option]
        if "--set" not in cmd and "--init" not in cmd:
            cmd += ["--init", str(args.pack / "init")]
        log = open(args.work / f"{name}.log", "w")
        procs[name] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), log)
    failed = 0
    with (args.out / "logs.txt").open("w") as logs:
        for name, (proc, log) in procs.items():
            failed += proc.wait() != 0
            log.close()
            if proc.returncode == 0:
                bring_back(args.work / name, args.out, name)
            text = (args.work / f"{name}.log").read_text()
            logs.write(f"== {name}\n{text}\n")
            print(f"== {name} (exit {proc.returncode})\n" + "\n".join(text.splitlines()[-4:]), flush=True)
    print(f"done in {time.time() - t0:.0f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
