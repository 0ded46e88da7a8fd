"""The HTTP API (FastAPI): POST a source and target clip(s), get a WAV. Schema at /openapi.json,
interactive docs at /docs.

    curl -F source=@source.wav -F target=@target.wav http://127.0.0.1:7860/api/convert -o converted.wav
"""

from __future__ import annotations

import json
import shutil
from typing import Literal

from fastapi import FastAPI, File, Form, UploadFile
from fastapi.responses import JSONResponse, Response

from mediumvc import __version__
from mediumvc.errors import AudioError, CheckpointError, MediumVCError
from mediumvc.serve.service import Busy, ConversionService, TooLarge, public_message, scratch_dir

FORM_OVERHEAD = 64 * 1024  # multipart boundaries and fields on top of the files themselves


class BodyLimit:
    """ASGI middleware: requests whose body exceeds `max_bytes` get 413, and the body is never kept.

    A declared Content-Length over the limit is refused at once, the body read and dropped (up to a
    bound) so the client sees the 413 rather than a reset connection. A body without a length
    (chunked) is cut off where it crosses the limit and answered 413, whatever the app would have said.
    """

    def __init__(self, app, max_bytes: int, limit_mb: float | None = None) -> None:
        self.app, self.max_bytes = app, max_bytes
        self.limit_mb = limit_mb if limit_mb is not None else max_bytes / 2**20

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._drain(receive)
            return await self._refuse(send)
        received, started, over = 0, False, False

        async def limited_receive():
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    over = True
                    raise TooLarge("upload too large")
            return message

        async def tracked_send(message):
            nonlocal started
            if over:  # the form parser turns the cut-off body into its own 400: answer 413 instead
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await self._drain(receive)
                    await self._refuse(send)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except TooLarge:
            if not started:
                await self._drain(receive)
                await self._refuse(send)

    async def _drain(self, receive, bound: int = 1 << 30) -> None:
        seen = 0
        while seen < bound:
            message = await receive()
            seen += len(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body"):
                return

    async def _refuse(self, send) -> None:
        body = json.dumps(
            {
                "detail": f"upload larger than the limit of {self.limit_mb:g} MB "
                "(all files of one request together): send shorter clips"
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def create_api(service: ConversionService) -> FastAPI:
    app = FastAPI(
        title="mediumvc",
        version=__version__,
        description="Any-to-any voice conversion (MediumVC). POST a source clip (what is said) and one or more "
        "target clips (who should say it); the answer is a 22.05 kHz 16-bit mono WAV.",
    )

    @app.exception_handler(Busy)
    async def busy(_, e: Busy):
        return JSONResponse({"detail": str(e)}, status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(CheckpointError)
    async def model_error(_, e: CheckpointError):
        return JSONResponse({"detail": str(e)}, status_code=500)

    @app.exception_handler(MediumVCError)  # AudioError and other bad input: the caller can fix it
    async def bad_input(_, e: MediumVCError):
        return JSONResponse({"detail": public_message(e)}, status_code=400)

    @app.get("/api/health", summary="Liveness and counters")
    def health() -> dict:
        return {
            "status": "ok",
            "version": __version__,
            "models": service.model_names(),
            "served": service.served,
            "failed": service.failed,
        }

    @app.get("/api/models", summary="Models this server offers")
    def models() -> dict:
        return {"models": service.model_names(), "default": service.default_model}

    @app.post(
        "/api/convert",
        summary="Convert a source clip to the voice of the target clip(s)",
        response_class=Response,
        responses={
            200: {"content": {"audio/wav": {}}, "description": "the converted speech (WAV)"},
            400: {"description": "unusable audio or parameters (the message says what to do)"},
            413: {"description": "upload over the size limit"},
            503: {"description": "busy: all conversion slots and queue places taken; retry later"},
        },
    )
    def convert(
        source: UploadFile = File(..., description="what is said: wav, flac, ogg, mp3 (others through ffmpeg)"),
        target: list[UploadFile] = File(
            ..., description="who should say it: one or more recordings of the target speaker"
        ),
        model: str | None = Form(None, description="a name from /api/models (default: the server's default)"),
        precision: Literal["auto", "fp32", "bf16"] = Form("auto"),
        pitch: Literal["target", "source"] = Form(
            "target", description="the pitch level: the target's or the source's"
        ),
        transpose: float = Form(0.0, ge=-24, le=24, description="semitones on top of `pitch`"),
        vocoder: Literal["default", "fast"] = Form(
            "default", description="the model's vocoder (HiFi-GAN V1), or the fast one a model may ship"
        ),
    ) -> Response:
        with scratch_dir() as folder:
            # Server-chosen names: nothing a client sends becomes part of a path.
            source_path = _save(source, folder / "source")
            target_paths = [_save(t, folder / f"target-{i}") for i, t in enumerate(target)]
            result = service.convert(
                source_path, target_paths, model, precision, pitch=pitch, transpose=transpose, vocoder=vocoder
            )
        return Response(
            result.wav_bytes(),
            media_type="audio/wav",
            headers={"Content-Disposition": 'attachment; filename="converted.wav"'},
        )

    return app


def _save(upload: UploadFile, path):
    with path.open("wb") as out:
        shutil.copyfileobj(upload.file, out, 1 << 20)
    if path.stat().st_size == 0:
        raise AudioError(f"the uploaded {path.name.split('-')[0]} file is empty")
    return path
