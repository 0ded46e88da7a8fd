"""`mediumvc` command line. Thin: parses arguments and calls the package.

Errors a user can fix are printed as one line `mediumvc: error: ...` with exit code 2.
"""

from __future__ import annotations

import argparse
import os
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
    from mediumvc.evaluation.baselines import make_method
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

    options = {"pitch": not args.no_pitch, "detail": not args.no_detail, "match": not args.no_match} if args.method == "mediumvc" else {}
    vc = make_method(args.method, model=args.model, device=args.device, precision=args.precision, max_seconds=args.max_seconds, **options)
    speakers: dict[tuple[Path, ...], object] = {}
    failures = []
    single = len(jobs) == 1 and not args.pairs
    for job in tqdm(todo, desc="converting", unit="file", disable=single or None):
        try:
            if job.targets not in speakers:
                speakers[job.targets] = vc.target_voice([str(t) for t in job.targets])
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
    if args.train:
        from mediumvc.training.throughput import run_throughput

        run_throughput(presets=args.presets, threads=args.threads, precisions=args.precisions, force_bf16=args.force_bf16, steps=args.repeats)
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
    )
    return 0


def _preprocess(args: argparse.Namespace) -> int:
    from mediumvc.data.corpus import scan_corpus
    from mediumvc.data.store import StoreSettings, preprocess

    utterances = scan_corpus(args.corpus, include=args.speakers, exclude=args.exclude or [])
    settings = StoreSettings(encoder=args.encoder, psdr_variants=args.psdr_variants, psdr_backend=args.psdr_backend,
                             psdr_low=args.psdr_range[0], psdr_high=args.psdr_range[1], psdr_speakers=tuple(args.psdr_speakers or ()),
                             dvector_mels=args.dvector_mels)
    summary = preprocess(utterances, args.out, settings, workers=args.workers, dvector_dir=args.dvector)
    print(f"{args.out}: {summary['items']} utterances ({summary['computed']} computed, {summary['skipped_unchanged']} unchanged, "
          f"{summary['failed']} failed" + (f", listed in {Path(args.out) / 'failures.tsv'})" if summary["failed"] else ")"))
    return 0


def _precompute_ssif(args: argparse.Namespace) -> int:
    from mediumvc.training.ssif import precompute_ssif

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    summary = precompute_ssif(args.store, args.singlevc, args.out, variants=args.variants, dropout=args.dropout, seed=args.seed,
                              device=args.device)
    print(f"{summary['out']}: SSIF of {summary['items']} utterances ({summary['computed']} computed, "
          f"{summary['skipped_existing']} already there); train MediumVC with --set data.ssif={summary['out']}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from mediumvc.serve.app import serve
    from mediumvc.serve.service import ServeConfig

    models = {}
    for item in args.model or []:
        name, _, path = item.rpartition("=")
        models[name or Path(path).name] = path
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    config = ServeConfig(models=models, device=args.device,
                         max_upload_mb=args.max_upload_mb, max_seconds=args.max_seconds, max_targets=args.max_targets,
                         concurrency=args.concurrency, queue_size=args.queue_size)
    serve(config, host=args.host, port=args.port, preload=args.preload)
    return 0


def _train(args: argparse.Namespace) -> int:
    from mediumvc.training.train import load_train_config, train

    config = load_train_config(args.config, args.set or [])
    last = train(args.task, config, args.out, resume=args.resume)
    if os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0":  # DDP: say it once
        print(f"training stopped; last checkpoint: {last}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from mediumvc.training.train import export

    if Path(args.out).exists() and not args.overwrite:
        raise MediumVCError(f"{args.out} exists: pass --overwrite to replace it")
    import torch

    from mediumvc.detail import DetailSettings
    from mediumvc.matching import MatchSettings
    from mediumvc.pitch import PitchSettings

    card = Path(args.card).read_text() if args.card else None
    try:
        pitch = PitchSettings(int(args.pitch[0]), args.pitch[1]) if args.pitch else None
        detail = DetailSettings(args.detail[0], int(args.detail[1])) if args.detail else None
        match = MatchSettings(args.match[0], int(args.match[1]), int(args.match[2])) if args.match else None
    except ValueError as e:
        raise MediumVCError(str(e)) from None
    dtype = torch.float16 if args.dtype == "fp16" else torch.float32
    print(f"exported {export(args.checkpoint, args.out, dtype=dtype, card=card, pitch=pitch, detail=detail, match=match)}")
    return 0


def _judge_encoder(args: argparse.Namespace):
    """The speaker encoder that scores trials and conversions: resemblyzer, or our d-vector from --dvector DIR."""
    from mediumvc.speaker import make_speaker_encoder

    if args.encoder == "dvector":
        if not args.dvector:
            raise MediumVCError("--encoder dvector needs --dvector DIR (a directory exported from `mediumvc train dvector`)")
        from mediumvc.checkpoint import load_part_dir

        return make_speaker_encoder("dvector", load_part_dir(args.dvector, "dvector").net)
    return make_speaker_encoder("resemblyzer")


def _evaluate_eer(args: argparse.Namespace) -> int:
    import json

    from mediumvc.data.corpus import scan_corpus
    from mediumvc.evaluation.trials import corpus_eer, plot_scores

    utterances = scan_corpus(args.corpus, include=args.speakers, exclude=args.exclude or [])
    result = corpus_eer(utterances, _judge_encoder(args), args.trials, args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot_scores(result, out / "eer.png")
    (out / "eer.json").write_text(json.dumps({**result, "corpus": str(args.corpus), "encoder": args.encoder}) + "\n")
    print(f"EER {100 * result['eer']:.2f} % at threshold {result['threshold']:.4f} over {result['trials']} trials "
          f"({len(result['unreadable'])} unreadable files); wrote {out / 'eer.json'} and {out / 'eer.png'}")
    return 0


def _make_pairs(args: argparse.Namespace) -> int:
    from mediumvc.data.corpus import scan_corpus
    from mediumvc.evaluation.conversions import make_pairs, write_pairs

    pairs = make_pairs(scan_corpus(args.corpus, include=args.speakers, exclude=args.exclude or []), args.pairs, args.seed)
    write_pairs(pairs, args.out)
    print(f"wrote {len(pairs)} pairs to {args.out}")
    return 0


def _evaluate_compare(args: argparse.Namespace) -> int:
    import json

    from mediumvc.evaluation.conversions import compare_results

    def load(path: str) -> dict:
        path = Path(path)
        path = path / "results.json" if path.is_dir() else path
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise MediumVCError(f"{path}: not a results.json from `mediumvc evaluate conversions` ({type(e).__name__})") from None

    a, b = load(args.a), load(args.b)
    result = compare_results(a, b, args.methods[0], args.methods[1])
    print(f"B - A, paired over the shared pairs, mean [95 % bootstrap interval]   A = {args.a}  B = {args.b}")
    for metric, r in result.items():
        print(f"{metric:20s} A {r['a']:.3f}  B {r['b']:.3f}  B-A {r['diff']:+.4f} [{r['low']:+.4f}, {r['high']:+.4f}]  "
              f"{r['pairs']} pairs  B {r['verdict']}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


def _evaluate_conversions(args: argparse.Namespace) -> int:
    import json

    from mediumvc.evaluation.baselines import make_method
    from mediumvc.evaluation.conversions import Judges, evaluate_pairs, read_pairs, write_tables
    from mediumvc.evaluation.report import write_report

    pairs = read_pairs(args.pairs)
    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.overwrite:
        raise MediumVCError(f"{out} is not empty: pass --overwrite or choose another report folder")
    eer = None
    threshold = args.threshold
    if threshold is None and args.eer:
        try:
            eer = json.loads(Path(args.eer).read_text())
            threshold = float(eer["threshold"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise MediumVCError(f"--eer {args.eer}: not an eer.json from `mediumvc evaluate eer` ({type(e).__name__}: {e})") from None
    out.mkdir(parents=True, exist_ok=True)
    if eer is not None and (Path(args.eer).parent / "eer.png").is_file():
        import shutil

        shutil.copyfile(Path(args.eer).parent / "eer.png", out / "eer.png")
        eer["plot"] = "eer.png"
    methods = {name: make_method(name, model=args.model if name == "mediumvc" else None, device=args.device) for name in args.methods}
    if any(p.output for p in pairs):
        from mediumvc.evaluation.conversions import GivenOutputs

        methods = {"given": GivenOutputs(), **methods}
    judges = Judges(_judge_encoder(args), asr=not args.no_asr, mos=not args.no_mos)
    result = evaluate_pairs(pairs, methods, out, judges, threshold)
    write_tables(result, out)
    index = write_report(result, out, title=args.title, eer=eer)
    for method, m in result["summary"].items():
        print(f"{method:15s} sim {m['sim_target'][0]:.3f} (source {m['sim_source_target'][0]:.3f})  SV acc {m['sv_accept'][0]:.2f}  "
              f"WER {m['wer'][0]:.2f}  DNSMOS {m['dnsmos_ovrl'][0]:.2f}  F0 err {m['f0_error_semitones'][0]:.2f} st  failures {m['failures']}")
    print(f"report: {index}")
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
    p.add_argument("--method", default="mediumvc", choices=["mediumvc", "identity", "copy-synthesis", "dsp"],
                   help="mediumvc (default) or a baseline: the source itself, its copy synthesis, or WORLD pitch+formant shift")
    p.add_argument("--no-pitch", action="store_true", help="leave out the model's pitch stage (keep the network's own pitch)")
    p.add_argument("--no-detail", action="store_true", help="leave out the model's source-detail stage (the networks' mel as is)")
    p.add_argument("--no-match", action="store_true", help="leave out the model's target-matching stage")
    _add_runtime_args(p)
    p.set_defaults(func=_convert)

    p = sub.add_parser("create-model", help="write a randomly initialised model directory (to test the pipeline)")
    p.add_argument("out", help="model directory to write")
    p.add_argument("--config", default="paper", help="bundled config name (paper, cpu-small, tiny) or a YAML file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_create_model)

    p = sub.add_parser("preprocess", help="corpus -> feature store (mels, d-vectors, PSDR variants) for training")
    p.add_argument("corpus", help="folder ROOT/<speaker>/**/*.wav|flac|ogg|mp3, or a manifest TSV with path and speaker columns")
    p.add_argument("out", help="feature store folder (re-running skips finished files and redoes changed ones)")
    p.add_argument("--speakers", nargs="+", help="keep only speakers matching these globs")
    p.add_argument("--exclude", nargs="+", help="drop speakers matching these globs (e.g. 'fillets_*:unlabeled')")
    p.add_argument("--encoder", default="resemblyzer", choices=["resemblyzer", "dvector"],
                   help="speaker encoder of the stored d-vectors: the pretrained resemblyzer, or our own (--dvector)")
    p.add_argument("--dvector", help="with --encoder dvector: a d-vector directory from `mediumvc export`")
    p.add_argument("--psdr-variants", type=int, default=0, help="pitch-shifted copies per utterance for SingleVC (e.g. 8)")
    p.add_argument("--psdr-speakers", nargs="+", help="speaker globs that get PSDR variants (default: all)")
    p.add_argument("--psdr-backend", default="rubberband", choices=["rubberband", "sox", "librosa"])
    p.add_argument("--psdr-range", type=int, nargs=2, default=[-6, 4], metavar=("LOW", "HIGH"), help="semitones, inclusive")
    p.add_argument("--dvector-mels", action="store_true", help="also store 40-mel features for training our own d-vector")
    p.add_argument("--workers", type=int, default=2)
    p.set_defaults(func=_preprocess)

    p = sub.add_parser("serve", help="web page (Gradio) and HTTP API for conversion, on 127.0.0.1 unless told otherwise")
    p.add_argument("--model", nargs="+", metavar="[NAME=]DIR", help="model directories to offer (default: the bundled model); the first is the default")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 exposes it to the network)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--max-upload-mb", type=float, default=20.0, help="largest request (all files together)")
    p.add_argument("--max-seconds", type=float, default=120.0, help="longest recording accepted")
    p.add_argument("--max-targets", type=int, default=8, help="most target clips per request")
    p.add_argument("--concurrency", type=int, default=1, help="conversions at a time")
    p.add_argument("--queue-size", type=int, default=16, help="requests that may wait; more are answered 503")
    p.add_argument("--preload", action="store_true", help="load the default model before serving")
    p.set_defaults(func=_serve)

    p = sub.add_parser("precompute-ssif", help="run a trained SingleVC once over a feature store, for faster MediumVC training")
    p.add_argument("store", help="feature store folder (from `mediumvc preprocess`)")
    p.add_argument("--singlevc", required=True, help="exported SingleVC directory (the one MediumVC will be trained on)")
    p.add_argument("--out", required=True, help="SSIF folder to write (re-running completes it)")
    p.add_argument("--variants", type=int, default=1, help="SSIF variants per utterance (with --dropout each differs)")
    p.add_argument("--dropout", action="store_true", help="SingleVC's dropout on, as the original trained MediumVC")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (a GPU when there is one)")
    p.set_defaults(func=_precompute_ssif)

    p = sub.add_parser("train", help="train SingleVC, MediumVC or our d-vector from a feature store")
    p.add_argument("task", choices=["singlevc", "mediumvc", "dvector"])
    p.add_argument("--config", help="training YAML (see mediumvc/configs/train/)")
    p.add_argument("--set", nargs="+", metavar="KEY=VALUE", help="override config values, e.g. optim.lr=3e-4 trainer.max_steps=500")
    p.add_argument("--out", required=True, help="run folder: checkpoints/ and logs/")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints/last.ckpt")
    p.set_defaults(func=_train)

    p = sub.add_parser("evaluate", help="EER of an encoder on a corpus; metrics and a report for conversions")
    ev = p.add_subparsers(dest="what", required=True)
    q = ev.add_parser("eer", help="EER and its threshold from seeded, balanced trials of a corpus")
    q.add_argument("corpus", help="folder ROOT/<speaker>/... or manifest TSV")
    q.add_argument("--out", required=True, help="folder for eer.json and eer.png")
    q.add_argument("--trials", type=int, default=2000)
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--speakers", nargs="+")
    q.add_argument("--exclude", nargs="+")
    q.add_argument("--encoder", default="resemblyzer", choices=["resemblyzer", "dvector"])
    q.add_argument("--dvector", help="with --encoder dvector: a d-vector directory from `mediumvc export`")
    q.set_defaults(func=_evaluate_eer)
    q = ev.add_parser("make-pairs", help="seeded source/target pairs of different speakers from a corpus")
    q.add_argument("corpus", help="folder ROOT/<speaker>/... or manifest TSV")
    q.add_argument("--out", required=True, help="pairs TSV to write")
    q.add_argument("--pairs", type=int, default=40)
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--speakers", nargs="+", help="speaker globs to draw from (e.g. the held-out ones)")
    q.add_argument("--exclude", nargs="+")
    q.set_defaults(func=_make_pairs)
    q = ev.add_parser("conversions", help="convert pairs with methods, measure, write an HTML report + JSON + CSV")
    q.add_argument("pairs", help="TSV with header: source, target (|-separated), optional heldout, text")
    q.add_argument("--out", required=True, help="report folder")
    q.add_argument("--methods", nargs="*", default=["identity", "copy-synthesis", "dsp"], choices=["mediumvc", "identity", "copy-synthesis", "dsp"],
                   help="methods to convert with; conversions listed in an `output` column are measured as 'given'")
    q.add_argument("--model", help="model directory for the mediumvc method")
    q.add_argument("--eer", help="eer.json from `mediumvc evaluate eer` (gives the SV threshold and the plot)")
    q.add_argument("--threshold", type=float, help="SV threshold, instead of --eer")
    q.add_argument("--title", default="mediumvc evaluation")
    q.add_argument("--no-asr", action="store_true")
    q.add_argument("--no-mos", action="store_true")
    q.add_argument("--device", default="auto")
    q.add_argument("--overwrite", action="store_true")
    q.add_argument("--encoder", default="resemblyzer", choices=["resemblyzer", "dvector"], help="speaker encoder of the judge")
    q.add_argument("--dvector", help="with --encoder dvector: a d-vector directory from `mediumvc export`")
    q.set_defaults(func=_evaluate_conversions)
    q = ev.add_parser("compare", help="two evaluations of the same pairs, pair by pair: B - A with a paired 95 %% interval")
    q.add_argument("a", help="report folder (or its results.json) of `evaluate conversions`: the reference")
    q.add_argument("b", help="report folder (or its results.json): the candidate")
    q.add_argument("--methods", nargs=2, default=["mediumvc", "mediumvc"], metavar=("METHOD_A", "METHOD_B"),
                   help="which method's rows of each (default: mediumvc in both)")
    q.add_argument("--json", help="also write the comparison to this JSON file")
    q.set_defaults(func=_evaluate_compare)

    p = sub.add_parser("export", help="training checkpoint -> inference directory")
    p.add_argument("checkpoint")
    p.add_argument("out")
    p.add_argument("--dtype", default="fp32", choices=["fp32", "fp16"], help="storage precision of a MediumVC model (fp16 halves it)")
    p.add_argument("--card", help="Markdown file to ship as the model card (README.md in the directory)")
    p.add_argument("--pitch", nargs=2, type=float, metavar=("LIFTER", "HNR_DB"),
                   help="add the pitch stage (mediumvc.pitch) with these settings; the bundled model: --pitch 20 30")
    p.add_argument("--detail", nargs=2, type=float, metavar=("GAIN", "FRAMES"),
                   help="add the source-detail stage (mediumvc.detail); the bundled model: --detail 0.5 13")
    p.add_argument("--match", nargs=3, type=float, metavar=("WEIGHT", "K", "FRAMES"),
                   help="add the target-matching stage (mediumvc.matching); the bundled model: --match 0.5 8 13")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_export)

    p = sub.add_parser("benchmark", help="real-time factor of each stage and end to end")
    p.add_argument("--config", default="paper", help="network sizes to time (random weights) when no --model is given")
    p.add_argument("--model", help="time this model directory instead")
    p.add_argument("--seconds", type=float, nargs="+", default=[2.0, 5.0, 20.0, 60.0])
    p.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    p.add_argument("--repeats", type=int, default=3, help="timed runs per cell; the median is reported")
    p.add_argument("--json", help="also write the results as JSON here")
    p.add_argument("--force-bf16", action="store_true", help="time bf16 even on CPUs that only emulate it")
    p.add_argument("--batch", type=int, default=4, help="also time this many same-length sources at once (1 = off; inputs up to 20 s)")
    p.add_argument("--train", action="store_true", help="time training steps instead (seconds/step, frames/s per preset)")
    p.add_argument("--presets", nargs="+", default=["cpu-small", "paper"], help="with --train: configs to time")
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
