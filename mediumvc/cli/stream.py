"""`mediumvc stream`: live conversion, from the microphone to the speakers, or a file streamed in simulated real time."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from mediumvc.cli.common import add_runtime_options, add_vocoder_option, apply_threads
from mediumvc.errors import MediumVCError


def add_parser(sub) -> None:
    p = sub.add_parser(
        "stream",
        help="live conversion: microphone -> speakers, or --input FILE streamed in simulated real time",
        description="Convert speech as it arrives, chunk by chunk, into the voice of the --target recordings. "
        "Without --input it listens to the default microphone and plays to the default speakers (needs "
        "`pip install mediumvc[live]` and PortAudio); with --input it feeds the file in chunks as a microphone "
        "would, writes --output and reports the latency and the compute time per chunk.",
    )
    p.add_argument("--target", "-t", nargs="+", required=True, help="one or more recordings of the target speaker")
    p.add_argument("--input", "-i", help="a recording to stream instead of the microphone")
    p.add_argument("--output", "-o", help="with --input: the WAV to write (default: only report the timing)")
    p.add_argument("--model", "-m", help="model directory; default: the bundled model")
    p.add_argument("--chunk", type=int, default=8, help="frames emitted per step, 11.6 ms each (default 8)")
    p.add_argument("--lookahead", type=int, default=9, help="future frames each step waits for (2..64, default 9)")
    p.add_argument("--context", type=float, default=1.5, help="seconds of past audio the networks see (default 1.5)")
    p.add_argument("--pitch", default="target", choices=["target", "source"], help="as for `convert`")
    p.add_argument("--transpose", type=float, default=0.0, metavar="N", help="semitones on top of --pitch")
    add_vocoder_option(p)
    add_runtime_options(p, device="cpu")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mediumvc.streaming import StreamSettings

    settings = StreamSettings(args.chunk, args.lookahead, args.context)  # bad values: one line, before any loading
    if args.output and not args.input:
        raise MediumVCError("--output is for --input FILE; the microphone stream plays to the speakers")
    if args.input:
        from mediumvc.audio import load_audio

        source = load_audio(args.input, name=args.input)  # a bad file is told before the model loads
    else:
        sounddevice = audio_devices()
    apply_threads(args)
    from mediumvc.converter import VoiceConverter

    converter = VoiceConverter.from_pretrained(
        args.model, device=args.device, precision=args.precision, vocoder=args.vocoder
    )
    voice = converter.target_voice(args.target)
    pitch = {"pitch": args.pitch, "transpose": args.transpose}
    print(
        f"latency {1000 * settings.latency_seconds:.0f} ms (chunk {1000 * settings.chunk_seconds:.0f} ms + lookahead "
        f"{1000 * (settings.latency_seconds - settings.chunk_seconds):.0f} ms), {converter.precision}",
        file=sys.stderr,
    )
    if note := low_voice_note(converter, voice, **pitch):
        print(note, file=sys.stderr)
    if args.input:
        return stream_file(converter, source, voice, settings, args.output, pitch)
    return stream_live(converter, voice, settings, pitch, sounddevice)


def low_voice_note(converter, voice, pitch: str = "target", transpose: float = 0.0) -> str | None:
    """What to say when the target's pitch is below the pitch stage's floor: live, such a voice is not lowered
    onto its pitch (the stage's `finish` needs the whole waveform), as a file conversion does."""
    stage = next((s for s in converter.stages if s.name == "pitch"), None)
    if stage is None or pitch != "target" or not voice.f0:
        return None
    level = voice.f0 * 2 ** (transpose / 12)
    if level >= stage.floor:
        return None
    return (
        f"the target's pitch (about {level:.0f} Hz) is below {stage.floor:.0f} Hz: live it comes out higher (a 60 Hz "
        "voice near 71 Hz, 70 near 80); `mediumvc convert` brings it down to its pitch"
    )


BEHIND = (
    "this machine converts a chunk slower than real time: try --chunk 12 --lookahead 4 (less compute, a few more "
    "words lost), --threads with more cores, or a model's fast vocoder (--vocoder fast)"
)


def stream_file(converter, source: np.ndarray, voice, settings, output: str | None, pitch: dict) -> int:
    from mediumvc.audio import SAMPLE_RATE, save_wav
    from mediumvc.streaming import simulate

    out, times = simulate(converter, source, voice, settings, **pitch)
    steady = np.array(times[1:-1] or times)  # the first step builds kernels, the last is short
    late = int((steady > settings.chunk_seconds).sum())
    print(
        f"{len(times)} chunks of {1000 * settings.chunk_seconds:.0f} ms: compute per chunk median "
        f"{1000 * np.median(steady):.0f} ms, 95th percentile {1000 * np.percentile(steady, 95):.0f} ms, "
        f"max {1000 * steady.max():.0f} ms (first {1000 * times[0]:.0f} ms); real-time margin "
        f"{settings.chunk_seconds / np.median(steady):.2f}x; {late} chunk(s) slower than real time"
    )
    if np.median(steady) > settings.chunk_seconds:
        print(BEHIND, file=sys.stderr)
    if output:
        save_wav(output, out, SAMPLE_RATE)
        print(f"wrote {output} ({len(out) / SAMPLE_RATE:.2f} s)")
    return 0


def audio_devices():
    """The sounddevice module with a default input and output device, or one line saying what is missing."""
    try:
        import sounddevice
    except (ImportError, OSError) as e:  # OSError: the module is there but PortAudio is not
        raise MediumVCError(
            f"live streaming needs sounddevice and PortAudio ({str(e).splitlines()[0]}): "
            "pip install 'mediumvc[live]' (and apt-get install libportaudio2), or stream a file with --input FILE"
        ) from None
    try:
        sounddevice.check_input_settings(channels=1, samplerate=22050)
        sounddevice.check_output_settings(channels=1, samplerate=22050)
    except Exception as e:
        raise MediumVCError(
            f"no usable audio device ({str(e).splitlines()[0]}): connect a microphone and speakers, "
            "or stream a file with --input FILE"
        ) from None
    return sounddevice


def stream_live(converter, voice, settings, pitch: dict, sounddevice) -> int:
    """Microphone -> converter -> speakers until Ctrl+C; the audio callbacks only move samples through queues."""
    import queue

    from mediumvc.audio import HOP_LENGTH, SAMPLE_RATE
    from mediumvc.streaming import StreamingConversion

    size = settings.chunk * HOP_LENGTH
    heard: queue.Queue = queue.Queue()
    ready: queue.Queue = queue.Queue()
    pending = np.zeros(0, np.float32)

    def callback(indata, outdata, frames, time, status):  # noqa: ARG001 (PortAudio's signature)
        nonlocal pending
        heard.put(indata[:, 0].copy())
        while len(pending) < frames and not ready.empty():
            pending = np.concatenate([pending, ready.get_nowait()])
        n = min(frames, len(pending))
        outdata[:n, 0], outdata[n:, 0] = pending[:n], 0.0  # silence until converted audio is there
        pending = pending[n:]

    conversion = StreamingConversion(converter, voice, settings, **pitch)
    warned = False
    print("listening: speak into the microphone, Ctrl+C to stop", file=sys.stderr)
    with sounddevice.Stream(samplerate=SAMPLE_RATE, blocksize=size, channels=1, dtype="float32", callback=callback):
        try:
            while True:
                out = conversion.push(heard.get())
                if len(out):
                    ready.put(out)
                if not warned and conversion.falling_behind():
                    print(BEHIND, file=sys.stderr)
                    warned = True
        except KeyboardInterrupt:
            pass
    times = np.array(conversion.compute_seconds[1:] or [0.0])
    print(f"stopped; compute per chunk median {1000 * np.median(times):.0f} ms", file=sys.stderr)
    return 0
