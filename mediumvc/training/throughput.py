"""Training throughput: seconds per optimiser step and frames per second for each preset."""

from __future__ import annotations

import statistics
import time

import torch

from mediumvc.config import load_config
from mediumvc.runtime import cpu_has_native_bf16
from mediumvc.training.tasks import MediumVCTask, OptimConfig, SingleVCTask, masked_l1


def _step_seconds(task, batch: dict, precision: str, steps: int) -> float:
    opt = task.configure_optimizers()["optimizer"]
    times = []
    for i in range(steps + 1):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = masked_l1(task.predict_batch(batch).float(), batch["target"], batch["lengths"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i:  # the first step allocates and picks kernels
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_throughput(
    presets=("cpu-small", "paper"),
    batch_size: int = 16,
    crop: int = 128,
    steps: int = 5,
    threads: int = 1,
    precisions=("fp32", "bf16"),
    force_bf16: bool = False,
) -> list[dict]:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    batch = {
        "input": torch.rand(batch_size, crop, 80),
        "target": torch.rand(batch_size, crop, 80),
        "mask": torch.zeros(batch_size, crop, dtype=torch.bool),
        "lengths": torch.full((batch_size,), crop),
        "dvector": torch.nn.functional.normalize(torch.rand(batch_size, 256), dim=-1),
    }
    print(
        f"training throughput: batch {batch_size} x {crop} frames, {threads} thread(s), median of {steps} steps, "
        f"native bf16: {cpu_has_native_bf16()}"
    )
    print("| preset | task | precision | s/step | frames/s |\n|---|---|---|---|---|")
    rows = []
    for preset in presets:
        cfg = load_config(preset)
        for task_name in ("singlevc", "mediumvc"):
            for precision in precisions:
                if precision == "bf16" and not cpu_has_native_bf16() and not force_bf16:
                    continue
                task = (
                    SingleVCTask(type(cfg.build().singlevc)(cfg.singlevc), OptimConfig())
                    if task_name == "singlevc"
                    else MediumVCTask(cfg.build(), OptimConfig())
                )
                task.train()
                s = _step_seconds(task, batch, precision, steps)
                row = {
                    "preset": preset,
                    "task": task_name,
                    "precision": precision,
                    "seconds_per_step": s,
                    "frames_per_second": batch_size * crop / s,
                }
                rows.append(row)
                print(
                    f"| {preset} | {task_name} | {precision} | {s:.3f} | {row['frames_per_second']:.0f} |", flush=True
                )
    if not cpu_has_native_bf16() and not force_bf16:
        print("bf16 skipped: this CPU has no native bf16 (AVX-512 BF16/AMX)")
    return rows
