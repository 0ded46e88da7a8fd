"""`mediumvc evaluate eer | make-pairs | conversions | compare`."""

from __future__ import annotations

import argparse
from pathlib import Path

from mediumvc.cli.common import add_corpus_filter, add_encoder_options, scan, speaker_encoder
from mediumvc.errors import MediumVCError


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="EER of an encoder on a corpus; metrics and a report for conversions")
    ev = p.add_subparsers(dest="what", required=True)
    q = ev.add_parser("eer", help="EER and its threshold from seeded, balanced trials of a corpus")
    q.add_argument("corpus", help="folder ROOT/<speaker>/... or manifest TSV")
    q.add_argument("--out", required=True, help="folder for eer.json and eer.png")
    q.add_argument("--trials", type=int, default=2000, help="same-speaker and different-speaker trials in all")
    q.add_argument("--seed", type=int, default=0, help="random seed of the draw")
    add_corpus_filter(q)
    add_encoder_options(q, "to score the trials")
    q.set_defaults(func=eer)
    q = ev.add_parser("make-pairs", help="seeded source/target pairs of different speakers from a corpus")
    q.add_argument("corpus", help="folder ROOT/<speaker>/... or manifest TSV")
    q.add_argument("--out", required=True, help="pairs TSV to write")
    q.add_argument("--pairs", type=int, default=40, help="how many pairs")
    q.add_argument("--seed", type=int, default=0, help="random seed of the draw")
    add_corpus_filter(q)
    q.set_defaults(func=make_pairs)
    q = ev.add_parser("conversions", help="convert pairs with methods, measure, write an HTML report + JSON + CSV")
    q.add_argument("pairs", help="TSV with header: source, target (|-separated), optional heldout, text")
    q.add_argument("--out", required=True, help="report folder")
    q.add_argument(
        "--methods",
        nargs="*",
        default=["identity", "copy-synthesis", "dsp"],
        choices=["mediumvc", "identity", "copy-synthesis", "dsp"],
        help="methods to convert with; conversions listed in an `output` column are measured as 'given'",
    )
    q.add_argument("--model", help="model directory for the mediumvc method")
    q.add_argument("--eer", help="eer.json from `mediumvc evaluate eer` (gives the SV threshold and the plot)")
    q.add_argument("--threshold", type=float, help="SV threshold, instead of --eer")
    q.add_argument("--title", default="mediumvc evaluation", help="the report page's title")
    q.add_argument("--no-asr", action="store_true", help="skip the word error rates (pocketsphinx)")
    q.add_argument("--no-mos", action="store_true", help="skip DNSMOS")
    q.add_argument("--device", default="auto", help="cpu, cuda or auto")
    q.add_argument(
        "--precision",
        default="auto",
        choices=["auto", "fp32", "bf16"],
        help="of the mediumvc method (auto: bf16 where the device computes it natively)",
    )
    q.add_argument("--overwrite", action="store_true", help="write into a report folder that is not empty")
    add_encoder_options(q, "of the judge")
    q.set_defaults(func=conversions)
    q = ev.add_parser(
        "compare", help="two evaluations of the same pairs, pair by pair: B - A with a paired 95 %% interval"
    )
    q.add_argument("a", help="report folder (or its results.json) of `evaluate conversions`: the reference")
    q.add_argument("b", help="report folder (or its results.json): the candidate")
    q.add_argument(
        "--methods",
        nargs=2,
        default=["mediumvc", "mediumvc"],
        metavar=("METHOD_A", "METHOD_B"),
        help="which method's rows of each (default: mediumvc in both)",
    )
    q.add_argument("--json", help="also write the comparison to this JSON file")
    q.set_defaults(func=compare)


def eer(args: argparse.Namespace) -> int:
    import json

    from mediumvc.evaluation.trials import corpus_eer, plot_scores

    utterances = scan(args)
    result = corpus_eer(utterances, speaker_encoder(args), args.trials, args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot_scores(result, out / "eer.png")
    (out / "eer.json").write_text(json.dumps({**result, "corpus": str(args.corpus), "encoder": args.encoder}) + "\n")
    print(
        f"EER {100 * result['eer']:.2f} % at threshold {result['threshold']:.4f} over {result['trials']} trials "
        f"({len(result['unreadable'])} unreadable files); wrote {out / 'eer.json'} and {out / 'eer.png'}"
    )
    return 0


def make_pairs(args: argparse.Namespace) -> int:
    from mediumvc.evaluation.conversions import make_pairs, write_pairs

    pairs = make_pairs(scan(args), args.pairs, args.seed)
    write_pairs(pairs, args.out)
    print(f"wrote {len(pairs)} pairs to {args.out}")
    return 0


def compare(args: argparse.Namespace) -> int:
    import json

    from mediumvc.evaluation.compare import compare_results

    def load(path: str) -> dict:
        path = Path(path)
        path = path / "results.json" if path.is_dir() else path
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise MediumVCError(
                f"{path}: not a results.json from `mediumvc evaluate conversions` ({type(e).__name__})"
            ) from None

    a, b = load(args.a), load(args.b)
    result = compare_results(a, b, args.methods[0], args.methods[1])
    print(f"B - A, paired over the shared pairs, mean [95 % bootstrap interval]   A = {args.a}  B = {args.b}")
    for metric, r in result.items():
        print(
            f"{metric:20s} A {r['a']:.3f}  B {r['b']:.3f}  B-A {r['diff']:+.4f} [{r['low']:+.4f}, {r['high']:+.4f}]  "
            f"{r['pairs']} pairs  B {r['verdict']}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


def conversions(args: argparse.Namespace) -> int:
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
            raise MediumVCError(
                f"--eer {args.eer}: not an eer.json from `mediumvc evaluate eer` ({type(e).__name__}: {e})"
            ) from None
    out.mkdir(parents=True, exist_ok=True)
    if eer is not None and (Path(args.eer).parent / "eer.png").is_file():
        import shutil

        shutil.copyfile(Path(args.eer).parent / "eer.png", out / "eer.png")
        eer["plot"] = "eer.png"
    methods = {
        name: make_method(
            name, model=args.model if name == "mediumvc" else None, device=args.device, precision=args.precision
        )
        for name in args.methods
    }
    if any(p.output for p in pairs):
        from mediumvc.evaluation.conversions import GivenOutputs

        methods = {"given": GivenOutputs(), **methods}
    judges = Judges(speaker_encoder(args), asr=not args.no_asr, mos=not args.no_mos)
    result = evaluate_pairs(pairs, methods, out, judges, threshold)
    write_tables(result, out)
    index = write_report(result, out, title=args.title, eer=eer)
    for method, m in result["summary"].items():
        print(
            f"{method:15s} sim {m['sim_target'][0]:.3f} (source {m['sim_source_target'][0]:.3f})  SV acc {m['sv_accept'][0]:.2f}  "
            f"WER {m['wer'][0]:.2f}  DNSMOS {m['dnsmos_ovrl'][0]:.2f}  F0 err {m['f0_error_semitones'][0]:.2f} st  failures {m['failures']}"
        )
    print(f"report: {index}")
    return 0
