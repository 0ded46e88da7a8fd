"""Device and precision choices, in one place for the converter, the CLI and the benchmark."""

from __future__ import annotations

import contextlib
import functools
import warnings
from pathlib import Path

import torch

from mediumvc.errors import DeviceError

PRECISIONS = ("auto", "fp32", "bf16")


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """'auto' (or None) -> CUDA when available, else CPU."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except RuntimeError:
        raise DeviceError(f"unknown device {device!r}: use cpu, cuda, cuda:N or auto") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError("CUDA was asked for but torch sees no GPU: use --device cpu")
    return device


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True when the CPU multiplies bf16 in hardware (AVX-512 BF16 or AMX). Elsewhere PyTorch
    emulates bf16 and it is far slower than fp32 (measured 0.3 vs 137 GFLOP/s on an AVX2 EPYC)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bf16 in hardware: a CUDA GPU that supports it, or a CPU with AVX-512 BF16/AMX."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_native_bf16()


def check_precision(precision: str, device: torch.device) -> str:
    """ "fp32" or "bf16" for `device`; "auto" is bf16 where the device computes it natively, else fp32."""
    if precision not in PRECISIONS:
        raise DeviceError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    if precision == "bf16" and device.type == "cpu" and not cpu_has_native_bf16():
        warnings.warn(
            "this CPU has no native bf16 (AVX-512 BF16 or AMX): bf16 will run much slower than fp32", stacklevel=3
        )
    return precision


@functools.cache
def _thread_pools():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def single_threaded_blas():
    """A context in which numpy's BLAS runs on one thread. Between torch's calls, idle BLAS threads spin and take
    the cores torch's threads need: a streaming step took 186 ms instead of 79, a 5 s conversion 494 ms instead of
    402 (2 cores). The stages' numpy work is small enough for one thread."""
    return _thread_pools().limit(limits=1, user_api="blas")


def autocast(device: torch.device, precision: str):
    """Mixed precision for the networks and the vocoder; a no-op for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
