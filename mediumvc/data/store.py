"""The feature store: what training reads, in safe formats (NumPy .npz without pickles + JSON + TSV).

    STORE/store.json              settings every item was made with (encoder, PSDR)
    STORE/items/<speaker>/<id>.npz   per utterance: mel (T, 80) float16 (normalised),
                                  dvector (256,), psdr_mels (K, T, 80) + psdr_shifts (K,),
                                  dvector_mel (T_d, 40) for d-vector training, meta (JSON)
    STORE/manifest.tsv            uid, speaker, frames, seconds, source path (rebuilt at the end)
    STORE/failures.tsv            files that could not be used, with the reason

Each item is written atomically, so a killed run loses nothing it finished; a re-run skips items
whose source file (size and mtime, or else content) and settings are unchanged and redoes the rest.
"""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from mediumvc.audio import HOP_LENGTH, SAMPLE_RATE, load_audio, peak_normalize
from mediumvc.data.corpus import Utterance
from mediumvc.errors import MediumVCError
from mediumvc.files import atomic_savez, atomic_write, file_sha256
from mediumvc.mel import MelSpectrogram, normalize_mel

FORMAT = "mediumvc-features"


@dataclass(frozen=True)
class StoreSettings:
    encoder: str = "resemblyzer"
    encoder_weights: str = ""  # encoder "dvector": SHA-256 of the d-vector weights the items were embedded with
    psdr_variants: int = 0  # pitch-shifted copies per utterance (0 = none)
    psdr_backend: str = "rubberband"
    psdr_low: int = -6
    psdr_high: int = 4
    psdr_speakers: tuple[str, ...] = ()  # speaker globs that get variants (empty = all)
    dvector_mels: bool = False  # also store our d-vector's 40-mel features (for `train dvector`)
    seed: int = 0


def item_path(root: Path, uid: str) -> Path:
    return root / "items" / f"{uid}.npz"


def read_item(path: Path) -> dict:
    """An item's arrays and its meta dict. allow_pickle=False: npz files are never unpickled."""
    with np.load(path, allow_pickle=False) as z:
        item = {k: z[k] for k in z.files}
    item["meta"] = json.loads(str(item["meta"]))
    return item


def read_meta(path: Path) -> dict:
    """Only an item's meta (npz members load lazily, so the arrays are not read)."""
    with np.load(path, allow_pickle=False) as z:
        return json.loads(str(z["meta"]))


def _source_stamp(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": file_sha256(path)}


def _is_current(path: Path, utt: Utterance, settings: StoreSettings) -> bool:
    """An item is current when its settings match and its source is the same file: same size and time, or,
    when only the time changed (a copied or re-checked-out corpus), the same content."""
    if not path.is_file():
        return False
    try:
        meta = read_meta(path)
        stamp, st = meta.get("stamp") or {}, utt.path.stat()
        if meta.get("settings") != _settings_dict(settings) or stamp.get("size") != st.st_size:
            return False
        return stamp.get("mtime_ns") == st.st_mtime_ns or (
            "sha256" in stamp and stamp["sha256"] == file_sha256(utt.path)
        )
    except Exception:  # unreadable item (e.g. disk full during an old run): redo it
        return False


def _settings_dict(settings: StoreSettings) -> dict:
    return json.loads(json.dumps(asdict(settings)))  # tuples -> lists, as stored


# -- the per-process worker -------------------------------------------------------------------

_WORKER: dict = {}


def _init_worker(settings: StoreSettings, dvector_dir: str | None = None) -> None:
    import warnings

    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    torch.set_num_threads(1)
    from mediumvc.speaker import make_speaker_encoder

    _WORKER["settings"] = settings
    _WORKER["mel"] = MelSpectrogram()
    dvector = None
    if settings.encoder == "dvector":
        from mediumvc.checkpoint import load_part_dir

        dvector = load_part_dir(dvector_dir, "dvector").net
    _WORKER["encoder"] = make_speaker_encoder(settings.encoder, dvector)
    if settings.dvector_mels:
        from mediumvc.speaker import Wav2Mel

        _WORKER["wav2mel"] = Wav2Mel()


def _wants_psdr(speaker: str, settings: StoreSettings) -> bool:
    import fnmatch

    return settings.psdr_variants > 0 and (
        not settings.psdr_speakers or any(fnmatch.fnmatchcase(speaker, p) for p in settings.psdr_speakers)
    )


def _process(root: Path, utt: Utterance) -> tuple[str, str | None, dict | None]:
    """Compute and write one item. Returns (uid, error or None, manifest row or None)."""
    from mediumvc.psdr import draw_shift, pitch_shift

    settings: StoreSettings = _WORKER["settings"]
    mel_fn = _WORKER["mel"]
    try:
        wav = load_audio(utt.path, min_samples=HOP_LENGTH * 2)
        with torch.inference_mode():
            mel = normalize_mel(mel_fn(torch.from_numpy(peak_normalize(wav))))
            dvector = _WORKER["encoder"].embed_utterance(utt.path)
        arrays = {"mel": mel.numpy().astype(np.float16), "dvector": dvector.numpy().astype(np.float32)}
        if settings.dvector_mels:
            w2m = _WORKER["wav2mel"]
            speech = w2m.preprocess(load_audio(utt.path, sr=w2m.config.sample_rate), str(utt.path))
            with torch.inference_mode():
                arrays["dvector_mel"] = w2m(torch.from_numpy(speech)).numpy().astype(np.float16)
        if _wants_psdr(utt.speaker, settings):
            seed = int.from_bytes(utt.uid.encode()[-8:].rjust(8, b"\0"), "little") ^ settings.seed
            rng = np.random.default_rng(seed)
            shifts = [draw_shift(rng, settings.psdr_low, settings.psdr_high) for _ in range(settings.psdr_variants)]
            with torch.inference_mode():
                variants = [
                    normalize_mel(
                        mel_fn(
                            torch.from_numpy(peak_normalize(pitch_shift(wav, SAMPLE_RATE, s, settings.psdr_backend)))
                        )
                    )
                    for s in shifts
                ]
            arrays["psdr_mels"] = torch.stack(variants).numpy().astype(np.float16)
            arrays["psdr_shifts"] = np.array(shifts, dtype=np.int8)
        seconds = len(wav) / SAMPLE_RATE
        meta = {
            "uid": utt.uid,
            "speaker": utt.speaker,
            "source": str(utt.path),
            "seconds": seconds,
            "stamp": _source_stamp(utt.path),
            "settings": _settings_dict(settings),
        }
        arrays["meta"] = np.array(json.dumps(meta))
        atomic_savez(item_path(root, utt.uid), **arrays)
        return (
            utt.uid,
            None,
            {
                "uid": utt.uid,
                "speaker": utt.speaker,
                "frames": int(mel.shape[0]),
                "seconds": round(seconds, 3),
                "source": str(utt.path),
            },
        )
    except MediumVCError as e:
        return utt.uid, str(e), None
    except Exception as e:  # a bad file must never stop the run; the reason is listed
        return utt.uid, f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}", None


def dvector_settings(settings: StoreSettings, dvector_dir: str | Path | None) -> StoreSettings:
    """Settings for embedding with our own d-vector from `dvector_dir` (its weights' digest recorded)."""
    from dataclasses import replace

    from mediumvc.checkpoint import weights_digest

    if not dvector_dir or not (Path(dvector_dir) / "model.safetensors").is_file():
        raise MediumVCError(
            f"--encoder dvector needs --dvector DIR, a d-vector exported with `mediumvc export` (got {dvector_dir})"
        )
    return replace(settings, encoder="dvector", encoder_weights=weights_digest(dvector_dir))


def preprocess(
    utterances: list[Utterance],
    root: str | Path,
    settings: StoreSettings = StoreSettings(),
    workers: int = 1,
    progress: bool = True,
    dvector_dir: str | Path | None = None,
) -> dict:
    """Build or update the feature store at `root`. Returns a summary dict.
    `dvector_dir`: our exported d-vector, for `settings.encoder` "dvector"."""
    from tqdm import tqdm

    if settings.encoder == "dvector":
        settings = dvector_settings(settings, dvector_dir)
        dvector_dir = str(dvector_dir)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    atomic_write(
        root / "store.json",
        lambda tmp: Path(tmp).write_text(
            json.dumps({"format": FORMAT, "version": 1, "settings": _settings_dict(settings)}, indent=2)
        ),
    )
    todo = [u for u in utterances if not _is_current(item_path(root, u.uid), u, settings)]
    skipped = len(utterances) - len(todo)
    failures: list[tuple[str, str]] = []
    bar = tqdm(total=len(todo), desc="preprocessing", unit="utt", disable=not progress)
    by_uid = {u.uid: u for u in utterances}
    if workers <= 1:
        _init_worker(settings, dvector_dir)
        results = (_process(root, u) for u in todo)
        pool = None
    else:
        import multiprocessing as mp

        pool = ProcessPoolExecutor(
            workers, mp_context=mp.get_context("fork"), initializer=_init_worker, initargs=(settings, dvector_dir)
        )
        results = pool.map(_process, [root] * len(todo), todo, chunksize=4)
    try:
        for uid, error, _ in results:
            if error:
                failures.append((uid, error))
                bar.write(f"skipped {by_uid[uid].path}: {error}")
            bar.update(1)
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    rows = write_manifest(root, utterances)
    atomic_write(
        root / "failures.tsv",
        lambda tmp: Path(tmp).write_text("path\treason\n" + "".join(f"{by_uid[u].path}\t{r}\n" for u, r in failures)),
    )
    summary = {
        "items": len(rows),
        "computed": len(todo) - len(failures),
        "skipped_unchanged": skipped,
        "failed": len(failures),
    }
    return summary


def write_manifest(root: Path, utterances: list[Utterance]) -> list[dict]:
    """manifest.tsv from the items on disk for these utterances (stale or missing ones left out)."""
    rows = []
    for u in utterances:
        p = item_path(root, u.uid)
        if p.is_file():
            meta = read_meta(p)
            rows.append(
                {
                    "uid": u.uid,
                    "speaker": u.speaker,
                    "frames": int(round(meta["seconds"] * SAMPLE_RATE)) // HOP_LENGTH,
                    "seconds": round(meta["seconds"], 3),
                    "source": str(u.path),
                }
            )
    lines = ["uid\tspeaker\tframes\tseconds\tsource"] + ["\t".join(str(r[k]) for k in r) for r in rows]
    atomic_write(root / "manifest.tsv", lambda tmp: Path(tmp).write_text("\n".join(lines) + "\n"))
    return rows


def read_store_settings(root: str | Path) -> dict:
    """The settings a store's items were made with (store.json); {} for a store without one."""
    path = Path(root) / "store.json"
    return json.loads(path.read_text()).get("settings", {}) if path.is_file() else {}


def read_manifest(root: str | Path) -> list[dict]:
    path = Path(root) / "manifest.tsv"
    if not path.is_file():
        raise MediumVCError(f"{root} is not a feature store (no manifest.tsv): run `mediumvc preprocess` first")
    import csv

    with path.open(newline="") as fh:
        return [
            dict(r, frames=int(r["frames"]), seconds=float(r["seconds"])) for r in csv.DictReader(fh, delimiter="\t")
        ]
