"""`mediumvc convert`: a file, a folder, or a pairs file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mediumvc.cli.common import add_runtime_options, add_vocoder_option, apply_threads
from mediumvc.errors import MediumVCError
from mediumvc.stages import STAGES

METHODS = ["mediumvc", "identity", "copy-synthesis", "dsp"]


def add_parser(sub) -> None:
    p = sub.add_parser(
        "convert",
        help="convert a file, a folder, or a pairs file",
        description="Speak SOURCE's words in the voice of the --target recordings. SOURCE may be a folder "
        "(every audio file inside, recursively); --pairs FILE lists tab-separated rows 'source, target(s), output'. "
        "Outputs are 22.05 kHz WAV named <source>_to_<target>.wav unless given; existing files are never overwritten silently.",
    )
    p.add_argument("source", nargs="?", help="audio file or folder of audio files")
    p.add_argument("--target", "-t", nargs="+", help="one or more recordings of the target speaker")
    p.add_argument(
        "--pairs", help="TSV of source, target(s), output (relative paths: sources to the file, outputs to -o)"
    )
    p.add_argument("--output", "-o", help="output WAV (one source) or folder (folder or pairs)")
    p.add_argument(
        "--model", "-m", help="model directory (config.json + model.safetensors); default: the bundled model"
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument(
        "--skip-existing", action="store_true", help="keep existing outputs and convert the rest (resume a batch)"
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.add_argument("--max-seconds", type=float, default=7200.0, help="longest source accepted (default 7200)")
    p.add_argument(
        "--method",
        default="mediumvc",
        choices=METHODS,
        help="mediumvc (default) or a baseline: the source itself, its copy synthesis, or WORLD pitch+formant shift",
    )
    for name, stage in STAGES.items():
        p.add_argument(
            f"--no-{name}",
            dest="without",
            action="append_const",
            const=name,
            help=f"leave out the model's {name} stage ({stage.summary})",
        )
    p.add_argument(
        "--pitch",
        default="target",
        choices=["target", "source"],
        help="the output's pitch level: the target's (default) or the source's own (singing, same-range voices)",
    )
    p.add_argument("--transpose", type=float, default=0.0, metavar="N", help="semitones on top of --pitch (-24..24)")
    add_vocoder_option(p)
    add_runtime_options(p)
    p.set_defaults(func=run)


def pitch_options(args: argparse.Namespace, converter) -> dict:
    """--pitch / --transpose for `convert`, refused where nothing would honour them."""
    if args.pitch == "target" and not args.transpose:
        return {}
    if args.method != "mediumvc" or converter.stage("pitch") is None:
        raise MediumVCError(
            "--pitch source and --transpose need a model with a pitch stage (the bundled model has one)"
        )
    return {"pitch": args.pitch, "transpose": args.transpose}


def make_converter(args: argparse.Namespace):
    """The model (or baseline) the options name."""
    if args.method == "mediumvc":
        from mediumvc.converter import VoiceConverter

        return VoiceConverter.from_pretrained(
            args.model,
            device=args.device,
            precision=args.precision,
            max_seconds=args.max_seconds,
            without=args.without or (),
            vocoder=args.vocoder,
        )
    from mediumvc.evaluation.baselines import make_baseline

    if args.model is not None or args.vocoder != "default":
        raise MediumVCError(
            f"--model and --vocoder are for the mediumvc method; the {args.method} baseline takes neither"
        )
    return make_baseline(args.method, device=args.device)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from mediumvc.jobs import check_inputs, check_outputs, jobs_for_source, jobs_from_pairs, run_jobs

    apply_threads(args)
    if not -24 <= args.transpose <= 24:
        raise MediumVCError(f"--transpose must be within two octaves (-24..24 semitones), not {args.transpose:g}")
    output = Path(args.output) if args.output else None
    if args.pairs:
        if args.source or args.target:
            raise MediumVCError("use either --pairs FILE or SOURCE --target ..., not both")
        jobs = jobs_from_pairs(Path(args.pairs), output)
    else:
        if not args.source:
            if args.target and len(args.target) > 1:  # `convert --target T S`: argparse gave S to --target
                raise MediumVCError(
                    "no SOURCE given: --target takes every path after it, so put the SOURCE first "
                    f"(`mediumvc convert SOURCE --target {' '.join(args.target[:-1])}`) or end the targets with `--`"
                )
            raise MediumVCError("give a SOURCE file or folder and --target recording(s), or --pairs FILE")
        source = Path(args.source)
        if not source.exists():
            raise MediumVCError(f"{source}: no such file or folder")
        jobs = jobs_for_source(source, [Path(t) for t in args.target or []], output)
    todo = check_outputs(jobs, args.overwrite, args.skip_existing)
    if not todo:
        print(f"all {len(jobs)} output(s) exist already; nothing to do", file=sys.stderr)
        return 0
    if len(jobs) == 1 and not args.pairs:
        return convert_one(todo[0], args)
    failures = []
    runnable = []
    for job in todo:  # what can be told without a model, told first
        try:
            check_inputs(job, args.max_seconds)
            runnable.append(job)
        except MediumVCError as e:
            failures.append(f"{job.where()}: {e}")
            print(f"skipped {failures[-1]}", file=sys.stderr)
    if runnable:
        converter = make_converter(args)
        failures += run_jobs(
            converter,
            runnable,
            on_skip=lambda line: tqdm.write(line, file=sys.stderr),
            progress=lambda jobs: tqdm(jobs, desc="converting", unit="file", disable=True if args.quiet else None),
            **pitch_options(args, converter),
        )
    done = len(todo) - len(failures)
    print(f"converted {done} of {len(todo)} file(s)" + (f"; {len(failures)} failed:" if failures else ""))
    for line in failures:
        print(f"  {line}")
    return 1 if failures else 0


def convert_one(job, args: argparse.Namespace) -> int:
    """One file, with a progress bar on a terminal (not with --quiet)."""
    from tqdm import tqdm

    from mediumvc.jobs import check_inputs
    from mediumvc.longform import convert_to_file

    check_inputs(job, args.max_seconds)  # before the model loads: a bad file is told at once
    converter = make_converter(args)
    pitch = pitch_options(args, converter)
    voice = converter.target_voice([str(t) for t in job.targets])
    with tqdm(total=100, desc="converting", unit="%", disable=args.quiet or not sys.stderr.isatty()) as bar:
        seconds = convert_to_file(
            converter, job.source, voice, job.output, progress=lambda f: bar.update(round(100 * f) - bar.n), **pitch
        )
    print(f"wrote {job.output} ({seconds:.2f} s)")
    return 0
