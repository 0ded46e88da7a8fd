"""`mediumvc` command line. Thin: parses arguments and calls the package.

Errors a user can fix are printed as one line `mediumvc: error: ...` with exit code 2.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from mediumvc.errors import MediumVCError


def _add_runtime_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default: auto)")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"], help="bf16 is fast on GPUs and CPUs with AVX-512 BF16/AMX")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")


def _convert(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from mediumvc.audio import save_wav
    from mediumvc.converter import VoiceConverter
    from mediumvc.jobs import check_outputs, jobs_for_source, jobs_from_pairs

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.pairs:
        if args.source or args.target:
            raise MediumVCError("use either --pairs FILE or SOURCE --target ..., not both")
        jobs = jobs_from_pairs(Path(args.pairs), Path(args.output) if args.output else None)
    else:
        if not args.source:
            raise MediumVCError("give a SOURCE file or folder and --target recording(s), or --pairs FILE")
        source = Path(args.source)
        if not source.exists():
            raise MediumVCError(f"{source}: no such file or folder")
        jobs = jobs_for_source(source, [Path(t) for t in args.target or []], Path(args.output) if args.output else None)
    todo = check_outputs(jobs, args.overwrite, args.skip_existing)
    if not todo:
        print(f"all {len(jobs)} output(s) exist already; nothing to do", file=sys.stderr)
        return 0

    vc = VoiceConverter.from_pretrained(args.model, device=args.device, precision=args.precision, max_seconds=args.max_seconds)
    speakers: dict[tuple[Path, ...], object] = {}
    failures = []
    single = len(jobs) == 1 and not args.pairs
    for job in tqdm(todo, desc="converting", unit="file", disable=single or None):
        try:
            if job.targets not in speakers:
                speakers[job.targets] = vc.embed_speaker([str(t) for t in job.targets])
            wav, sr = vc.convert(str(job.source), speakers[job.targets])
            save_wav(job.output, wav, sr)
        except MediumVCError as e:
            if single:
                raise
            failures.append(f"{job.source}: {e}")
            tqdm.write(f"skipped {e}", file=sys.stderr)
            continue
        if single:
            print(f"wrote {job.output} ({len(wav) / sr:.2f} s)")
    if not single:
        done = len(todo) - len(failures)
        print(f"converted {done} of {len(todo)} file(s)" + (f"; {len(failures)} failed (listed above)" if failures else ""))
    return 1 if failures else 0


def _create_model(args: argparse.Namespace) -> int:
    import torch

    from mediumvc.checkpoint import save_model_dir
    from mediumvc.config import load_config

    if Path(args.out).exists() and not args.overwrite:
        raise MediumVCError(f"{args.out} exists: pass --overwrite to replace it")
    torch.manual_seed(args.seed)
    config = load_config(args.config)
    card = (
        "# Randomly initialised mediumvc model\n\nUntrained weights (seed "
        f"{args.seed}, config `{args.config}`): it proves the pipeline runs, and outputs noise.\n"
    )
    dvector = None
    if config.speaker_encoder == "dvector":
        from mediumvc.speaker import DVector

        dvector = DVector(config.dvector)
    path = save_model_dir(args.out, config, config.build(), dvector, info={"trained_steps": 0, "seed": args.seed}, card=card)
    print(f"wrote a randomly initialised model to {path}")
    return 0


def _benchmark(args: argparse.Namespace) -> int:
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
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mediumvc", description="Any-to-any voice conversion with MediumVC.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "convert",
        help="convert a file, a folder, or a pairs file",
        description="Speak SOURCE's words in the voice of the --target recordings. SOURCE may be a folder "
        "(every audio file inside, recursively); --pairs FILE lists tab-separated rows 'source, target(s), output'. "
        "Outputs are 22.05 kHz WAV named <source>_to_<target>.wav unless given; existing files are never overwritten silently.",
    )
    p.add_argument("source", nargs="?", help="audio file or folder of audio files")
    p.add_argument("--target", "-t", nargs="+", help="one or more recordings of the target speaker")
    p.add_argument("--pairs", help="TSV of source, target(s), output (relative paths: sources to the file, outputs to -o)")
    p.add_argument("--output", "-o", help="output WAV (one source) or folder (folder or pairs)")
    p.add_argument("--model", "-m", help="model directory (config.json + model.safetensors); default: the bundled model")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--skip-existing", action="store_true", help="keep existing outputs and convert the rest (resume a batch)")
    p.add_argument("--max-seconds", type=float, default=7200.0, help="longest source accepted (default 7200)")
    _add_runtime_args(p)
    p.set_defaults(func=_convert)

    p = sub.add_parser("create-model", help="write a randomly initialised model directory (to test the pipeline)")
    p.add_argument("out", help="model directory to write")
    p.add_argument("--config", default="paper", help="bundled config name (paper, cpu-small, tiny) or a YAML file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_create_model)

    p = sub.add_parser("benchmark", help="real-time factor of each stage and end to end")
    p.add_argument("--config", default="paper", help="network sizes to time (random weights) when no --model is given")
    p.add_argument("--model", help="time this model directory instead")
    p.add_argument("--seconds", type=float, nargs="+", default=[2.0, 5.0, 20.0])
    p.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    p.add_argument("--repeats", type=int, default=3, help="timed runs per cell; the median is reported")
    p.add_argument("--json", help="also write the results as JSON here")
    p.add_argument("--force-bf16", action="store_true", help="time bf16 even on CPUs that only emulate it")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.set_defaults(func=_benchmark)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    try:
        return args.func(args)
    except MediumVCError as e:
        print(f"mediumvc: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mediumvc: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
