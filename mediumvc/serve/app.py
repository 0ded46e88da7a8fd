"""One server: the HTTP API under /api, the Gradio page at /, behind an upload-size limit."""

from __future__ import annotations

import os
import shutil
import tempfile

from mediumvc.serve.service import ConversionService, ServeConfig


def create_app(config: ServeConfig, preload: bool = False):
    """The ASGI app: FastAPI (API + OpenAPI schema at /openapi.json, docs at /docs) with the page mounted.
    `preload` loads the default model now, so a broken model fails at start, not at the first request."""
    import gradio as gr

    from mediumvc.serve.api import FORM_OVERHEAD, BodyLimit, create_api
    from mediumvc.serve.webui import create_ui

    service = ConversionService(config)
    if preload:
        service.converter(service.default_model, "auto")
    api = create_api(service)
    app = gr.mount_gradio_app(
        api,
        create_ui(service),
        path="/",
        max_file_size=config.max_upload_bytes,
        footer_links=["api"],
        ssr_mode=False,
        show_error=True,
    )
    app.state.service = service
    return BodyLimit(app, config.max_upload_bytes + FORM_OVERHEAD, limit_mb=config.max_upload_mb)


def serve(config: ServeConfig, host: str = "127.0.0.1", port: int = 7860, preload: bool = False) -> None:
    """Run until interrupted. Gradio's own upload cache lives in a private folder removed on exit."""
    import signal
    import sys

    import uvicorn

    # uvicorn re-raises SIGTERM after its graceful shutdown: exit through `finally` instead of dying.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    cache = tempfile.mkdtemp(prefix="mediumvc-gradio-")
    os.environ["GRADIO_TEMP_DIR"] = cache
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        app = create_app(config, preload)
        print(
            f"mediumvc: page at http://{host}:{port}/  API at http://{host}:{port}/api/convert  (schema: /openapi.json)",
            flush=True,
        )
        uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
