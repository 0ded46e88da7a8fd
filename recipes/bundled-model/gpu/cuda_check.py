"""The converter on a GPU against the same converter on the CPU (bundled sample, one model).

Prints the largest converted-mel difference and the waveform SNR of CUDA vs CPU, and the wall
time of each; writes the CUDA output. Run where torch sees a GPU.

    python cuda_check.py MODEL_DIR OUT.wav
"""

import sys
import time

import numpy as np
import torch

from mediumvc import VoiceConverter, save_wav

SOURCE, TARGET = "mediumvc/samples/source_librispeech_1040.wav", "mediumvc/samples/target_vctk_p228.wav"


def run(model: str, device: str):
    vc = VoiceConverter.from_pretrained(model, device=device)
    vc.convert(SOURCE, TARGET)  # warm-up (CUDA context, kernels)
    start = time.perf_counter()
    wav, rate = vc.convert(SOURCE, TARGET)
    seconds = time.perf_counter() - start
    _, mel = vc.convert_to_mel(SOURCE, TARGET)
    return wav, rate, mel.cpu(), seconds


def main() -> None:
    model, out = sys.argv[1], sys.argv[2]
    assert torch.cuda.is_available(), "no GPU"
    g_wav, rate, g_mel, g_s = run(model, "cuda")
    c_wav, _, c_mel, c_s = run(model, "cpu")
    n = min(len(g_wav), len(c_wav))
    snr = 10 * np.log10(np.sum(c_wav[:n] ** 2) / max(np.sum((c_wav[:n] - g_wav[:n]) ** 2), 1e-20))
    print(f"{torch.cuda.get_device_name()}: mel max |cuda - cpu| {float((g_mel - c_mel).abs().max()):.2e}, "
          f"waveform SNR {snr:.1f} dB, {len(g_wav) / rate:.2f} s of audio: cuda {g_s:.3f} s, cpu {c_s:.3f} s")
    save_wav(out, g_wav, rate)


if __name__ == "__main__":
    main()
