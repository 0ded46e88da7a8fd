"""Build an extra speech corpus from Debian main packages, as a manifest `mediumvc preprocess` reads.

- The Asterisk core sounds in G.722 (`asterisk-core-sounds-{en,es,fr,it,ru}-g722`, with the text of every
  prompt in `asterisk-core-sounds-{lang}`): professional voices at 16 kHz, about 25 minutes each. English and
  Spanish are the same speaker (Allison Smith), so both get one speaker name. CC BY-SA 3.0 (en, es, fr) and
  CC BY 3.0 (it, ru); the package's copyright file is copied beside the audio.
- `festvox-ru`: one Russian male reader, 16 kHz, with text (`etc/txt.done.data`); BSD-like licence.

Beeps, tones, silences and other prompts whose text is only a [description] or (remark) are dropped, as are
clips under 0.5 s.
Packages come with `apt-get download` (no root needed, nothing installed); G.722 is decoded with ffmpeg.
The audio stays in OUT, never in the repository.

    python recipes/extra-voices/build.py OUT [--asterisk en es fr it ru] [--no-festvox]

Writes OUT/<speaker>/<clip>.wav, OUT/manifest.tsv (path, speaker, source, language, sample_rate, seconds, text,
licence) and OUT/licences/. Re-running skips finished clips; each clip is written to a temporary name first.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import re
import shutil
import subprocess
from pathlib import Path

import soundfile as sf

SOUNDS = Path("usr/share/asterisk/sounds")
FESTVOX_RU = Path("usr/share/festival/voices/russian/msu_ru_nsh_clunits")
LICENCES = {"en": "CC-BY-SA-3.0", "es": "CC-BY-SA-3.0", "fr": "CC-BY-SA-3.0", "it": "CC-BY-3.0", "ru": "CC-BY-3.0"}
MIN_SECONDS = 0.5


def unpack(package: str, work: Path) -> Path:
    """`apt-get download` PACKAGE into WORK/debs and extract it under WORK/root; returns WORK/root."""
    debs, root = work / "debs", work / "root"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        subprocess.run(["apt-get", "download", package], cwd=debs, check=True, capture_output=True)
        found = sorted(debs.glob(f"{package}_*.deb"))
    subprocess.run(["dpkg-deb", "-x", str(found[-1]), str(root)], check=True)
    return root


def prompt_texts(path: Path) -> dict[str, str]:
    """core-sounds-LANG.txt(.gz): `name: text` lines -> {name: spoken text}. [Descriptions] and (remarks) are
    not spoken: they are removed, and prompts that are nothing else (beeps, tones, silences) are left out."""
    opener = gzip.open if path.suffix == ".gz" else open
    texts = {}
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith(";") or ":" not in line:
                continue
            name, text = line.split(":", 1)
            text = re.sub(r"\[[^\]]*\]|\([^)]*\)", "", text).strip()
            if text:
                texts[name.strip()] = text
    return texts


def decode(src: Path, dest: Path, codec: str | None) -> float | None:
    """src -> 16-bit mono WAV at 16 kHz (atomically); returns its seconds, or None when too short."""
    if not dest.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix(".tmp.wav")
        cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *(["-f", codec] if codec else []), "-i", str(src)]
        subprocess.run([*cmd, "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(tmp)], check=True)
        os.replace(tmp, dest)
    seconds = sf.info(dest).duration
    return seconds if seconds >= MIN_SECONDS else None


def asterisk_rows(lang: str, out: Path, work: Path) -> list[dict]:
    root = unpack(f"asterisk-core-sounds-{lang}-g722", work)
    unpack(f"asterisk-core-sounds-{lang}", work)
    doc = root / "usr/share/doc" / f"asterisk-core-sounds-{lang}"
    texts = prompt_texts(next(doc.glob(f"core-sounds-{lang}.txt*")))
    (out / "licences").mkdir(parents=True, exist_ok=True)
    shutil.copy(doc / "copyright", out / "licences" / f"asterisk-core-sounds-{lang}.txt")
    rows = []
    for voice_dir in sorted(p for p in (root / SOUNDS).iterdir() if p.is_dir() and p.name.startswith(f"{lang}_")):
        speaker = "asterisk:" + voice_dir.name.split("_")[-1].lower()  # en_US_f_Allison -> asterisk:allison
        for clip in sorted(voice_dir.rglob("*.g722")):
            name = clip.relative_to(voice_dir).with_suffix("").as_posix()
            if name not in texts:
                continue
            dest = out / speaker.replace(":", "_") / lang / f"{name.replace('/', '_')}.wav"
            seconds = decode(clip, dest, "g722")
            if seconds:
                rows.append(row(dest, out, speaker, "asterisk", lang, seconds, texts[name], LICENCES[lang]))
    return rows


def festvox_rows(out: Path, work: Path) -> list[dict]:
    root = unpack("festvox-ru", work)
    voice = root / FESTVOX_RU
    (out / "licences").mkdir(parents=True, exist_ok=True)
    shutil.copy(root / "usr/share/doc/festvox-ru/copyright", out / "licences" / "festvox-ru.txt")
    texts = dict(re.findall(r'\(\s*(\S+)\s+"(.*?)"\s*\)', (voice / "etc/txt.done.data").read_text(encoding="utf-8")))
    rows = []
    for clip in sorted((voice / "wav").glob("*.wav")):
        if clip.stem not in texts:
            continue
        dest = out / "festvox_ru_nsh" / f"{clip.stem}.wav"
        seconds = decode(clip, dest, None)
        if seconds:
            text = texts[clip.stem].replace("+", "")  # '+' marks stress in the source text
            rows.append(row(dest, out, "festvox_ru:nsh", "festvox_ru", "ru", seconds, text, "BSD-like (festvox-ru)"))
    return rows


def row(path: Path, out: Path, speaker: str, source: str, lang: str, seconds: float, text: str, licence: str) -> dict:
    return {
        "path": path.relative_to(out).as_posix(),
        "speaker": speaker,
        "source": source,
        "language": lang,
        "sample_rate": 16000,
        "seconds": f"{seconds:.2f}",
        "text": text,
        "licence": licence,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--asterisk", nargs="*", default=list(LICENCES), choices=list(LICENCES), help="prompt languages")
    ap.add_argument("--no-festvox", action="store_true", help="leave out the festvox-ru reader")
    args = ap.parse_args()
    for tool in ("apt-get", "dpkg-deb", "ffmpeg"):
        if shutil.which(tool) is None:
            raise SystemExit(
                f"{tool} is missing: this recipe needs a Debian system with ffmpeg (apt-get install ffmpeg)"
            )
    out = Path(args.out).expanduser().resolve()
    work = out / ".packages"
    rows = [r for lang in args.asterisk for r in asterisk_rows(lang, out, work)]
    if not args.no_festvox:
        rows += festvox_rows(out, work)
    tmp = out / "manifest.tsv.tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, out / "manifest.tsv")
    shutil.rmtree(work / "root", ignore_errors=True)
    for speaker in sorted({r["speaker"] for r in rows}):
        mine = [r for r in rows if r["speaker"] == speaker]
        minutes = sum(float(r["seconds"]) for r in mine) / 60
        print(f"{speaker}: {len(mine)} clips, {minutes:.1f} min ({', '.join(sorted({r['language'] for r in mine}))})")
    print(f"wrote {out / 'manifest.tsv'}")


if __name__ == "__main__":
    main()
