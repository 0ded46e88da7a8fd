"""int8 HiFi-GAN V1 on CPU (PyTorch FX static quantisation, x86 backend): speed and PESQ-wb against fp32.

    python recipes/fast-vocoder/int8_check.py [--threads 2] [--keep-float upsampling|none] [--layout 2d|1d]

Calibrates on 12 clips of the development speech, scores 12 others (5 s each) and times one 5 s clip,
alternating fp32, int8 and bf16. --keep-float upsampling leaves the transposed convolutions and the first and
last convolutions in float (the layers most sensitive to quantisation).
"""

from __future__ import annotations

import argparse
import glob
import statistics
import sys
import time

import librosa
import numpy as np
import torch
from pesq import pesq
from torch import nn
from torch.ao.quantization import get_default_qconfig_mapping
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

from mediumvc.audio import SAMPLE_RATE, load_audio, peak_normalize
from mediumvc.mel import MelSpectrogram
from mediumvc.vocoder import load_hifigan

SPEECH = "../shared/data/speech_dev"


def clips() -> list[torch.Tensor]:
    files = sorted(glob.glob(f"{SPEECH}/librispeech_tc100/*/*.flac"))[:12]
    files += sorted(glob.glob(f"{SPEECH}/vctk_autovc/*/*.wav"))[:12]
    mel = MelSpectrogram()
    return [mel(torch.from_numpy(peak_normalize(load_audio(f))[: SAMPLE_RATE * 5])).T.unsqueeze(0) for f in files]


def quantised(calibration: list[torch.Tensor], keep_float: str, layout: str) -> nn.Module:
    model = load_hifigan().eval()
    if layout == "2d":
        model.use_2d_channels_last()
    mapping = get_default_qconfig_mapping("x86")
    if keep_float == "upsampling":
        for kind in (nn.ConvTranspose1d, nn.ConvTranspose2d):
            mapping.set_object_type(kind, None)
        mapping.set_module_name("conv_pre", None).set_module_name("conv_post", None)
    prepared = prepare_fx(model, mapping, (calibration[0],))
    with torch.inference_mode():
        for mel in calibration:
            prepared(mel)
    return convert_fx(prepared)


def rtf(model: nn.Module, mel: torch.Tensor, bf16: bool = False, repeats: int = 5) -> float:
    times = []
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        model(mel)
        for _ in range(repeats):
            start = time.perf_counter()
            model(mel)
            times.append(time.perf_counter() - start)
    return statistics.median(times) / (mel.shape[-1] * 256 / SAMPLE_RATE)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep-float", default="upsampling", choices=["upsampling", "none"])
    ap.add_argument("--layout", default="2d", choices=["2d", "1d"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.backends.quantized.engine = "x86"
    mels = clips()
    calibration, test = mels[::2], mels[1::2]
    reference = load_hifigan().eval().use_2d_channels_last()
    int8 = quantised(calibration, args.keep_float, args.layout)
    to16 = lambda y: librosa.resample(y, orig_sr=SAMPLE_RATE, target_sr=16000)
    scores = []
    with torch.inference_mode():
        for mel in test:
            scores.append(pesq(16000, to16(reference(mel)[0, 0].numpy()), to16(int8(mel)[0, 0].numpy()), "wb"))
    print(f"PESQ-wb int8 against fp32: mean {np.mean(scores):.2f} (min {min(scores):.2f}, {len(scores)} clips)")
    for _ in range(2):
        print(
            f"RTF fp32 {rtf(reference, test[0]):.3f}, int8 {rtf(int8, test[0]):.3f}, bf16 {rtf(reference, test[0], True):.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
