"""Speed of each stage and end to end: real-time factor (seconds of compute per second of audio).

RTF does not depend on the weights, so by default the networks are the paper-size config with
random weights; `--model` times a real model directory instead.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from mediumvc.audio import SAMPLE_RATE, load_audio
from mediumvc.converter import VoiceConverter
from mediumvc.runtime import cpu_has_native_bf16, resolve_device
from mediumvc.samples import SOURCE


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """Harmonic tone with a syllable-rate envelope: costs the same as speech to convert."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = 120 + 30 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    wave = sum(np.sin(k * phase) / k for k in range(1, 20))
    return (0.1 * wave * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2) + 0.003 * rng.standard_normal(len(t))).astype(
        np.float32
    )


def _peak_rss_mb(fn) -> float | None:
    """Peak resident memory (MB) of the process while `fn` runs (Linux: VmHWM, reset through clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    fn()
    return _vm_hwm_mb()


def _vm_hwm_mb() -> float | None:
    """The process's peak resident memory so far (MB), None off Linux."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    return next((int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")), None)


def _in_fresh_process(function: str, *args):
    """`mediumvc.benchmark.<function>(*args)` in a new Python process -> its JSON result: what this process
    allocated before (models, earlier rows, the allocator's cache) does not count in its memory."""
    import subprocess
    import sys

    code = (
        f"import json, sys; import mediumvc.benchmark as b; print(json.dumps(b.{function}(*json.loads(sys.argv[1]))))"
    )
    done = subprocess.run([sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def conversion_peak_rss(
    config: str, model: str | None, device: str, vocoder: str, precision: str, seconds: float, threads: int
) -> float | None:
    """Peak resident memory (MB) of a process that loads the converter and converts `seconds` of speech once, as a
    user's process does; run through `_in_fresh_process`."""
    from mediumvc.vocoder import MelVocoder

    torch.set_num_threads(threads)
    dev = resolve_device(device)
    vc, _ = load_converter(config, model, dev)
    if vocoder == "fast":
        vc.vocoder = MelVocoder(fast_vocoder(config, model), dev, precision)
    vc.precision = precision
    vc.convert(speech_like(seconds), vc.target_voice(speech_like(5.0, seed=1)))
    return _vm_hwm_mb()


def _median_time(fn, repeats: int) -> float:
    fn()  # warm-up: allocations, kernel selection
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _pesq_bf16_vs_fp32(vc: VoiceConverter, speech: np.ndarray) -> float | None:
    """PESQ-wb of the bf16 vocoder output against the fp32 one on real speech (copy synthesis)."""
    try:
        import librosa
        from pesq import pesq
    except ImportError:
        return None
    mel = vc.source_mel(speech)
    vc.precision = "fp32"
    ref = vc.vocode(mel)
    vc.precision = "bf16"
    out = vc.vocode(mel)
    vc.precision = "fp32"
    to16 = lambda y: librosa.resample(y, orig_sr=SAMPLE_RATE, target_sr=16000)
    return float(pesq(16000, to16(ref), to16(out), "wb"))


def _time_stages(vc: VoiceConverter, src: np.ndarray, target: np.ndarray, repeats: int) -> dict[str, float]:
    """Median seconds of each stage on one source."""
    from mediumvc.runtime import autocast

    spk = vc.embed_speaker(target)
    mel = vc.source_mel(src)
    converted = vc.convert_mel(mel, spk)
    m, e = mel.unsqueeze(0), spk.to(vc.device).unsqueeze(0)
    with torch.inference_mode():
        ssif = vc.model.ssif(m)

    @torch.inference_mode()
    def singlevc():
        with autocast(vc.device, vc.precision):
            vc.model.ssif(m)

    @torch.inference_mode()
    def mediumvc():
        with autocast(vc.device, vc.precision):
            vc.model.decoder(vc.model.content_encoder(ssif), e)

    stages = {
        "speaker (5 s ref)": lambda: vc.target_voice(target),
        "mel": lambda: vc.source_mel(src),
        "SingleVC": singlevc,
        "MediumVC": mediumvc,
    }
    voice = vc.target_voice(target)
    voice = dataclasses.replace(voice, f0=voice.f0 or 150.0)  # a speech-like target may read as unvoiced
    context = vc.stage_context(src, mel, voice)
    if "content" in vc.needs:  # the source's content embeddings, which the stages then share
        stages["content"] = lambda: vc.stage_context(src, mel, voice)
    for stage in vc.stages:
        stages[stage.name] = lambda stage=stage: stage(converted, context)
    stages["vocoder"] = lambda: vc.vocode(converted)
    stages["end to end"] = lambda: vc.convert(src, target)
    return {name: _median_time(fn, repeats) for name, fn in stages.items()}


def _time_batched(
    vc: VoiceConverter, src: np.ndarray, target: np.ndarray, batch: int, repeats: int
) -> dict[str, float]:
    """Median seconds for `batch` equal-length sources at once (networks and vocoder batched)."""
    from mediumvc.mel import denormalize_mel
    from mediumvc.runtime import autocast

    mel = vc.source_mel(src).unsqueeze(0).expand(batch, -1, -1).contiguous()
    spk = vc.embed_speaker(target).to(vc.device).unsqueeze(0).expand(batch, -1)

    @torch.inference_mode()
    def networks():
        with autocast(vc.device, vc.precision):
            return vc.model(mel, spk).float().clamp(0, 1)

    converted = networks()

    @torch.inference_mode()
    def vocoder():
        with autocast(vc.device, vc.precision):
            vc.vocoder.generator(denormalize_mel(converted).transpose(1, 2))

    times = {"networks": _median_time(networks, repeats), "vocoder": _median_time(vocoder, repeats)}
    times["networks + vocoder"] = times["networks"] + times["vocoder"]
    return times


def fast_vocoder(config: str, model: str | None):
    """The fast vocoder to time: the one the model directory ships (None if it ships none), else random weights."""
    if model is not None:
        from mediumvc.checkpoint import load_model_dir

        return load_model_dir(model).fast_vocoder
    from mediumvc.vocoder import ISTFTVocoder

    torch.manual_seed(0)
    return ISTFTVocoder()


def load_converter(config: str, model: str | None, device: torch.device) -> tuple[VoiceConverter, str]:
    """The model directory, or random weights of `config` held in memory (nothing is written)."""
    if model is not None:
        return VoiceConverter.from_pretrained(model, device=device), f"model {model}"
    from mediumvc.config import load_config
    from mediumvc.speaker import make_speaker_encoder
    from mediumvc.vocoder import load_hifigan

    torch.manual_seed(0)
    cfg = load_config(config)
    encoder = make_speaker_encoder(cfg.speaker_encoder, None, device)
    vc = VoiceConverter(cfg.build(), load_hifigan(), encoder, device=device, stages=cfg.stages)
    return vc, f"config '{config}' (random weights)"


def measure_files(config: str, model: str | None, sources: list[str], threads: int, precision: str) -> list[dict]:
    """Convert each file as the CLI does, the first (a short one) as the reference: seconds per second of audio,
    peak memory, and its excess over the first file's."""
    import soundfile as sf

    from mediumvc.longform import convert_to_file

    torch.set_num_threads(threads)
    vc, _ = load_converter(config, model, torch.device("cpu"))
    vc.precision = precision
    voice = vc.target_voice(speech_like(5.0, seed=1))
    rows = []
    for source in sources:
        seconds = sf.info(source).duration
        start = time.perf_counter()
        rss = _peak_rss_mb(
            lambda source=source: convert_to_file(vc, source, voice, Path(source).with_suffix(".out.wav"))
        )
        rows.append({"seconds": seconds, "rtf": (time.perf_counter() - start) / seconds, "peak_rss_mb": rss})
    base = rows[0]["peak_rss_mb"]
    for row in rows:
        row["over_first_mb"] = None if base is None or row["peak_rss_mb"] is None else row["peak_rss_mb"] - base
    return rows


def _file_rows(config: str, model: str | None, minutes: list[float], threads: int, precision: str) -> list[dict]:
    """Speech-like files of 5 s and of these lengths, written a minute at a time, then `measure_files` in a fresh
    process: neither what the in-memory rows nor what writing the files left behind counts."""
    import tempfile

    import soundfile as sf

    with tempfile.TemporaryDirectory(prefix="mediumvc-bench-") as tmp:
        sources = []
        for n, m in enumerate([5 / 60, *minutes]):
            sources.append(str(Path(tmp) / f"source{n}.wav"))
            with sf.SoundFile(sources[-1], "w", SAMPLE_RATE, 1, "PCM_16") as f:
                for k in range(int(np.ceil(m))):
                    f.write(speech_like(min(60.0, 60 * (m - k)), seed=k))
        return _in_fresh_process("measure_files", config, model, sources, threads, precision)


def _time_stream(vc: VoiceConverter, src: np.ndarray, target: np.ndarray) -> dict:
    """Default streaming settings: algorithmic latency and the compute time of each step after the first."""
    from mediumvc.streaming import StreamSettings, simulate

    settings = StreamSettings()
    _, times = simulate(vc, src, vc.target_voice(target), settings)
    steady = np.array(times[1:-1])
    return {
        "latency_ms": 1000 * settings.latency_seconds,
        "chunk_ms": 1000 * settings.chunk_seconds,
        "compute_median_ms": 1000 * float(np.median(steady)),
        "compute_p95_ms": 1000 * float(np.percentile(steady, 95)),
        "compute_max_ms": 1000 * float(steady.max()),
        "margin": settings.chunk_seconds / float(np.median(steady)),
    }


def run_benchmark(
    config: str = "paper",
    model: str | None = None,
    seconds: list[float] = (2.0, 5.0, 20.0, 60.0),
    precisions: list[str] = ("fp32", "bf16"),
    threads: int = 2,
    device: str = "cpu",
    repeats: int = 3,
    json_out: str | None = None,
    force_bf16: bool = False,
    batch: int = 4,
    file_minutes: list[float] = (),
    stream_seconds: float = 10.0,
    vocoders: list[str] = ("default", "fast"),
) -> dict:
    from mediumvc.vocoder import MelVocoder

    torch.set_num_threads(threads)
    dev = resolve_device(device)
    vc, label = load_converter(config, model, dev)
    generators = {"default": vc.vocoder.generator}
    if "fast" in vocoders:
        generators["fast"] = fast_vocoder(config, model)
    n_params = sum(p.numel() for p in vc.model.parameters())
    native_bf16 = dev.type == "cuda" or cpu_has_native_bf16()
    header = {
        "model": label,
        "parameters": n_params,
        "device": str(dev),
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "native_bf16": native_bf16,
        "repeats": repeats,
    }
    print(f"mediumvc benchmark: {label}, {n_params / 1e6:.2f} M network parameters")
    print(
        f"device {dev}, torch {torch.__version__}, {torch.get_num_threads()} threads, native bf16: {native_bf16}; median of {repeats}"
    )
    target = speech_like(5.0, seed=1)
    rows, batched_rows, stream_rows = [], [], []
    if "bf16" in precisions and not native_bf16 and not force_bf16:
        print("bf16: skipped, this CPU has no native bf16 (AVX-512 BF16/AMX) and emulated bf16 is far slower than fp32")
        precisions = [p for p in precisions if p != "bf16"]
    if generators.get("fast", False) is None:
        print(f"fast vocoder: skipped, {model} ships none")
    runs = [(v, p) for v in vocoders if generators.get(v) is not None for p in precisions]
    for vocoder, precision in runs:
        vc.vocoder = MelVocoder(generators[vocoder], dev, precision)
        for s in seconds:
            row = {"vocoder_option": vocoder, "precision": precision, "seconds": s}
            src = speech_like(s)
            row.update({name: t / s for name, t in _time_stages(vc, src, target, repeats).items()})
            row["peak_rss_mb"] = _in_fresh_process(
                "conversion_peak_rss", config, model, device, vocoder, precision, s, threads
            )
            rows.append(row)
        for s in seconds if batch > 1 else []:
            if s > 20:  # whole-utterance attention and vocoding of long batches would swamp memory
                continue
            times = _time_batched(vc, speech_like(s), target, batch, repeats)
            per_second = {k: v / (s * batch) for k, v in times.items()}
            batched_rows.append(
                {"vocoder_option": vocoder, "precision": precision, "seconds": s, "batch": batch, **per_second}
            )
        if stream_seconds > 0:
            stream = _time_stream(vc, speech_like(stream_seconds), target)
            stream_rows.append({"vocoder_option": vocoder, "precision": precision, **stream})
    vc.vocoder = MelVocoder(generators["default"], dev, precisions[0] if precisions else "fp32")
    names = (
        ["speaker (5 s ref)", "mel", "SingleVC", "MediumVC"]
        + (["content"] if "content" in vc.needs else [])
        + [stage.name for stage in vc.stages]
        + ["vocoder", "end to end"]
    )
    print()
    print("| --vocoder | precision | input | " + " | ".join(names) + " | peak RSS |")
    print("|---|---|---|" + "---|" * len(names) + "---|")
    for row in rows:
        rss = f"{row['peak_rss_mb']:.0f} MB" if row["peak_rss_mb"] else "n/a"
        print(
            f"| {row['vocoder_option']} | {row['precision']} | {row['seconds']:g} s | "
            + " | ".join(f"{row[n]:.3f}" for n in names)
            + f" | {rss} |"
        )
    print(
        "(real-time factor: compute seconds per second of audio; the speaker column embeds one 5 s reference, divided by the input length;"
        " peak RSS: a fresh process that loads the model and converts the input once)"
    )
    if batched_rows:
        cols = ["networks", "vocoder", "networks + vocoder"]
        print(f"\nbatched: {batch} sources of the same length at once (RTF per second of audio, all sources together)")
        print("| --vocoder | precision | input | batch | " + " | ".join(cols) + " |")
        print("|---" * (4 + len(cols)) + "|")
        for row in batched_rows:
            print(
                f"| {row['vocoder_option']} | {row['precision']} | {row['seconds']:g} s | {row['batch']} | "
                + " | ".join(f"{row[c]:.3f}" for c in cols)
                + " |"
            )
    if stream_rows:
        print(f"\nstreaming ({stream_seconds:g} s fed chunk by chunk; the first step, which builds kernels, left out)")
        print(
            "| --vocoder | precision | latency | chunk | compute per chunk (median / 95th pct / max) | real-time margin |"
        )
        print("|---|---|---|---|---|---|")
        for row in stream_rows:
            print(
                f"| {row['vocoder_option']} | {row['precision']} | {row['latency_ms']:.0f} ms | {row['chunk_ms']:.0f} ms | "
                f"{row['compute_median_ms']:.0f} / {row['compute_p95_ms']:.0f} / {row['compute_max_ms']:.0f} ms | "
                f"{row['margin']:.2f}x |"
            )
    result = {**header, "rtf": rows, "rtf_batched": batched_rows, "stream": stream_rows}
    if file_minutes:
        precision = precisions[0] if precisions else "fp32"
        result["files"] = _file_rows(config, model, list(file_minutes), threads, precision)
        print(f"\nfiles converted as the CLI does, in a fresh process ({precision}; longer than 30 s: in segments)")
        print("| source | RTF | peak RSS | over the 5 s file |\n|---|---|---|---|")
        for row in result["files"]:
            rss = f"{row['peak_rss_mb']:.0f} MB" if row["peak_rss_mb"] else "n/a"
            over = f"{row['over_first_mb']:+.0f} MB" if row["over_first_mb"] is not None else "n/a"
            print(f"| {row['seconds']:g} s | {row['rtf']:.3f} | {rss} | {over} |")
    if "bf16" in precisions and (native_bf16 or force_bf16):
        speech = load_audio(SOURCE)
        score = _pesq_bf16_vs_fp32(vc, speech)
        if score is not None:
            print(f"bf16 vocoder quality: PESQ-wb {score:.2f} against the fp32 output (the bundled source clip)")
            result["bf16_pesq_vs_fp32"] = score
    if json_out:
        Path(json_out).write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {json_out}")
    return result
