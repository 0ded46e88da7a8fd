"""Conversion requests (one file, a folder, or a pairs file) -> jobs with deterministic output names,
refusing to overwrite anything unless asked; and running them."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from mediumvc.audio import probe_audio
from mediumvc.errors import MediumVCError

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".aif", ".aiff", ".au", ".w64"}


@dataclass(frozen=True)
class Job:
    """One conversion; `row` is its line in a pairs file (None otherwise)."""

    source: Path
    targets: tuple[Path, ...]
    output: Path
    row: int | None = None

    def where(self) -> str:
        """How messages name the job: its pairs-file row and source, or its source."""
        return f"row {self.row} ({self.source})" if self.row is not None else str(self.source)


def target_label(targets: tuple[Path, ...]) -> str:
    """'p226_003' for one target; 'p226_003+2' when two more references of the speaker follow."""
    label = targets[0].stem
    return label if len(targets) == 1 else f"{label}+{len(targets) - 1}"


def output_name(source: Path, targets: tuple[Path, ...]) -> str:
    return f"{source.stem}_to_{target_label(targets)}.wav"


def list_audio(folder: Path) -> list[Path]:
    """Audio files under `folder`, recursively, in a stable order."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES and not p.name.startswith(".")
    )


def jobs_for_source(source: Path, targets: list[Path], output: Path | None) -> list[Job]:
    """A file -> one job (output: the given path, or a deterministic name in the working folder).
    A folder -> one job per audio file inside, mirrored under the output folder."""
    t = tuple(targets)
    if not t:
        raise MediumVCError("give at least one --target recording of the voice to convert to")
    if source.is_dir():
        if output is None:
            raise MediumVCError("a source folder needs an output folder: add -o OUT_DIR")
        if output.suffix.lower() == ".wav":
            raise MediumVCError(f"the source is a folder, so -o must be a folder, not {output}")
        files = list_audio(source)
        if not files:
            raise MediumVCError(f"no audio files ({', '.join(sorted(AUDIO_SUFFIXES))}) under {source}")
        return [Job(f, t, output / f.relative_to(source).parent / output_name(f, t)) for f in files]
    if output is None:
        output = Path(output_name(source, t))
    elif output.is_dir() or output.suffix == "":
        output = output / output_name(source, t)
    return [Job(source, t, output)]


def jobs_from_pairs(pairs_file: Path, output_dir: Path | None) -> list[Job]:
    """Rows: source, target [, more targets ...], output (tab-separated; '#' starts a comment).

    Relative sources/targets are relative to the pairs file; relative outputs to `output_dir`
    (default: the pairs file's folder)."""
    if not pairs_file.is_file():
        raise MediumVCError(f"pairs file {pairs_file}: no such file")
    base = pairs_file.parent
    out_base = output_dir if output_dir is not None else base
    jobs = []
    with pairs_file.open(newline="") as f:
        for n, row in enumerate(csv.reader(f, delimiter="\t"), start=1):
            row = [c.strip() for c in row]
            if not row or not row[0] or row[0].startswith("#"):
                continue
            if n == 1 and row[0].lower() == "source":
                continue  # header
            if len(row) < 3 or not all(row):
                raise MediumVCError(
                    f"{pairs_file}:{n}: expected tab-separated 'source, target(s), output', got {len(row)} field(s)"
                )
            source, *targets, output = row
            jobs.append(Job(base / source, tuple(base / t for t in targets), out_base / output, row=n))
    if not jobs:
        raise MediumVCError(f"{pairs_file} lists no pairs")
    return jobs


def check_outputs(jobs: list[Job], overwrite: bool, skip_existing: bool) -> list[Job]:
    """Refuse outputs that are not .wav, duplicate outputs and, unless told, existing ones. Returns the jobs
    left to run."""
    seen: dict[Path, Job] = {}
    for job in jobs:
        if job.output.suffix.lower() != ".wav":
            raise MediumVCError(
                f"{job.output}: the output is a WAV file, so its name must end in .wav "
                "(convert it afterwards, e.g. `ffmpeg -i out.wav out.mp3`)"
            )
        key = job.output.resolve()
        if key in seen:
            raise MediumVCError(
                f"two conversions would write {job.output} ({seen[key].source} and {job.source}): give distinct outputs"
            )
        seen[key] = job
    existing = [j for j in jobs if j.output.exists()]
    if existing and not (overwrite or skip_existing):
        raise MediumVCError(
            f"{len(existing)} output(s) already exist (e.g. {existing[0].output}): "
            "pass --overwrite to replace them or --skip-existing to keep them"
        )
    return [j for j in jobs if not (skip_existing and j.output.exists())]


def check_inputs(job: Job, max_seconds: float | None = None) -> None:
    """What can be told about a job's recordings without decoding them (exists, a file, not empty, a readable
    header, not too long): an `AudioError` naming the file, before any model loads."""
    for i, path in enumerate((job.source, *job.targets)):
        probe_audio(path, str(path) if i == 0 else f"target {path}", max_seconds if i == 0 else None)


def run_jobs(
    converter,
    jobs: list[Job],
    on_skip: Callable[[str], None] | None = None,
    progress: Callable[[Iterable[Job]], Iterable[Job]] = iter,
    **pitch,
) -> list[str]:
    """Convert each job with `converter` (anything with `target_voice` and `convert`), writing its output
    atomically. A target's voice is computed once per distinct target set. With `on_skip`, a job that fails
    with a `MediumVCError` is reported there and the rest go on; without it, the error propagates.
    `pitch`: `VoiceConverter.convert`'s pitch options. Returns the failures as "source: message" lines."""
    from mediumvc.longform import convert_to_file

    voices: dict[tuple[Path, ...], object] = {}
    failures = []
    for job in progress(jobs):
        try:
            if job.targets not in voices:
                voices[job.targets] = converter.target_voice([str(t) for t in job.targets])
            convert_to_file(converter, job.source, voices[job.targets], job.output, **pitch)
        except MediumVCError as e:
            if on_skip is None:
                raise
            failures.append(f"{job.where()}: {e}")
            on_skip(f"skipped {job.where()}: {e}")
    return failures
