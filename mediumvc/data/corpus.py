"""Finding the utterances of a corpus: a folder `ROOT/<speaker>/**/*.<audio>` or a manifest TSV
with at least `path` and `speaker` columns (paths relative to the manifest)."""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from mediumvc.errors import MediumVCError
from mediumvc.jobs import AUDIO_SUFFIXES


@dataclass(frozen=True)
class Utterance:
    path: Path
    speaker: str
    uid: str  # stable and file-system safe: names the utterance's entry in the feature store


def make_uid(speaker: str, relative: str) -> str:
    safe = lambda s: re.sub(r"[^A-Za-z0-9_.-]+", "_", s)
    digest = hashlib.sha1(relative.encode()).hexdigest()[:10]
    return f"{safe(speaker)}/{safe(Path(relative).stem)[:60]}-{digest}"


def _keep(speaker: str, include: list[str] | None, exclude: list[str]) -> bool:
    if include and not any(fnmatch.fnmatchcase(speaker, p) for p in include):
        return False
    return not any(fnmatch.fnmatchcase(speaker, p) for p in exclude)


def scan_corpus(source: str | Path, include: list[str] | None = None, exclude: list[str] = ()) -> list[Utterance]:
    """All utterances of a corpus folder or manifest, filtered by speaker glob patterns
    (e.g. exclude=['fillets_*:unlabeled']), in a stable order."""
    source = Path(source)
    found: list[Utterance] = []
    if source.is_dir():
        for spk_dir in sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for f in sorted(spk_dir.rglob("*")):
                if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES and _keep(spk_dir.name, include, list(exclude)):
                    rel = f.relative_to(source).as_posix()
                    found.append(Utterance(f, spk_dir.name, make_uid(spk_dir.name, rel)))
    elif source.is_file():
        with source.open(newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t")
            if not reader.fieldnames or not {"path", "speaker"} <= set(reader.fieldnames):
                raise MediumVCError(f"{source}: a manifest needs tab-separated 'path' and 'speaker' columns")
            for row in reader:
                if _keep(row["speaker"], include, list(exclude)):
                    found.append(
                        Utterance(source.parent / row["path"], row["speaker"], make_uid(row["speaker"], row["path"]))
                    )
    else:
        raise MediumVCError(f"corpus {source}: no such folder or manifest")
    if not found:
        raise MediumVCError(f"corpus {source}: no audio files found (after speaker filters)")
    return found
