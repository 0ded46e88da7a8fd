"""Score exported fast vocoders against HiFi-GAN V1 on a prepared folder's held-out windows: the bar's numbers.

    python recipes/fast-vocoder/score.py DATA EXPORT [EXPORT ...] [--items 55] [--threads 2]

For each export: PESQ-wb against V1's waveform of the same window, DNSMOS overall of its output next to V1's
(the bar: PESQ >= 3.5, DNSMOS within 0.1), and its real-time factor alone on 5 s of mel (bar: 0.03 on 2 threads).
"""

from __future__ import annotations

import argparse
import sys
import time

import librosa
import numpy as np
import torch

from mediumvc.audio import HOP_LENGTH, SAMPLE_RATE
from mediumvc.checkpoint import load_part_dir
from mediumvc.evaluation.quality import dnsmos
from mediumvc.vocoder.distill import interleaved, load_items, pesq_wb, student_wave


def rtf(net: torch.nn.Module, seconds: float = 5.0, repeats: int = 5) -> float:
    mel = torch.randn(1, 80, int(seconds * SAMPLE_RATE / HOP_LENGTH)) - 5
    with torch.inference_mode():
        net(mel)
        start = time.perf_counter()
        for _ in range(repeats):
            net(mel)
    return (time.perf_counter() - start) / repeats / seconds


def mos(wav: np.ndarray) -> float:
    return dnsmos(librosa.resample(wav.astype(np.float32), orig_sr=SAMPLE_RATE, target_sr=16000))["ovrl"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("exports", nargs="+")
    ap.add_argument("--items", type=int, default=55, help="held-out windows to score (both kinds in turn)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    held = interleaved(load_items(args.data)[1])[: args.items]
    teacher_mos = float(np.mean([mos(item.wav) for item in held]))
    print(f"{len(held)} held-out windows; V1's DNSMOS {teacher_mos:.3f}")
    for path in args.exports:
        net = load_part_dir(path, "vocoder").net.eval()
        scores, moses = [], []
        with torch.inference_mode():
            for item in held:
                out = student_wave(net, torch.from_numpy(item.mel.astype(np.float32)).unsqueeze(0), 0)[0].numpy()
                scores.append(pesq_wb(item.wav.astype(np.float32), out))
                moses.append(mos(out))
        pesq = float(np.mean([s for s in scores if s is not None]))
        print(
            f"{path}: PESQ-wb {pesq:.3f}, DNSMOS {np.mean(moses):.3f} ({np.mean(moses) - teacher_mos:+.3f}), "
            f"RTF {rtf(net):.4f} on {args.threads} threads",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
