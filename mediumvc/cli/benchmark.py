"""`mediumvc benchmark`: real-time factor of each stage, or seconds per training step."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("benchmark", help="real-time factor of each stage and end to end")
    p.add_argument("--config", default="paper", help="network sizes to time (random weights) when no --model is given")
    p.add_argument("--model", help="time this model directory instead")
    p.add_argument("--seconds", type=float, nargs="+", default=[2.0, 5.0, 20.0, 60.0], help="input lengths to time")
    p.add_argument(
        "--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"], help="precisions to time"
    )
    p.add_argument(
        "--vocoders",
        nargs="+",
        default=["default", "fast"],
        choices=["default", "fast"],
        help="vocoders to time: the model's (HiFi-GAN V1) and the fast one (random weights without --model)",
    )
    p.add_argument("--repeats", type=int, default=3, help="timed runs per cell; the median is reported")
    p.add_argument("--json", help="also write the results as JSON here")
    p.add_argument("--force-bf16", action="store_true", help="time bf16 even on CPUs that only emulate it")
    p.add_argument(
        "--batch",
        type=int,
        default=4,
        help="also time this many same-length sources at once (1 = off; inputs up to 20 s)",
    )
    p.add_argument(
        "--file-minutes",
        type=float,
        nargs="+",
        default=[],
        help="also convert speech-like files of these lengths as the CLI does (e.g. 60): RTF and peak memory",
    )
    p.add_argument(
        "--stream-seconds",
        type=float,
        default=10.0,
        help="also stream this much speech-like audio chunk by chunk: latency and compute per chunk (0 = off)",
    )
    p.add_argument(
        "--train", action="store_true", help="time training steps instead (seconds/step, frames/s per preset)"
    )
    p.add_argument("--presets", nargs="+", default=["cpu-small", "paper"], help="with --train: configs to time")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.train:
        from mediumvc.training.throughput import run_throughput

        run_throughput(
            presets=args.presets,
            threads=args.threads,
            precisions=args.precisions,
            force_bf16=args.force_bf16,
            steps=args.repeats,
        )
        return 0
    from mediumvc.benchmark import run_benchmark

    run_benchmark(
        config=args.config,
        model=args.model,
        seconds=args.seconds,
        precisions=args.precisions,
        threads=args.threads,
        device=args.device,
        repeats=args.repeats,
        json_out=args.json,
        force_bf16=args.force_bf16,
        batch=args.batch,
        file_minutes=args.file_minutes,
        stream_seconds=args.stream_seconds,
        vocoders=args.vocoders,
    )
    return 0
