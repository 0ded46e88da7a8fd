"""Shared fixtures: committed real speech, synthetic audio, and a random tiny model directory."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
torch.set_num_threads(2)

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def speech() -> dict[str, Path]:
    """Real speech: two clips of p225 (female), one of p226 and one of p227 (male), 16 kHz."""
    return {p.stem: p for p in sorted(DATA.glob("*.wav"))}


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    from helpers import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def tiny_converter(tiny_model_dir):
    from mediumvc.converter import VoiceConverter

    return VoiceConverter.from_pretrained(tiny_model_dir, device="cpu")


# Debian packages behind the command-line tools some tests drive (installed by scripts/test.sh).
TOOL_PACKAGES = {
    "rubberband": "rubberband-cli",
    "sox": "sox",
    "ffmpeg": "ffmpeg",
    "chromium": "chromium",
    "chromedriver": "chromium-driver",
}


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "tools(*names): command-line tools the test needs; a missing one fails it with the fix"
    )


@pytest.fixture(autouse=True)
def _required_tools(request):
    import shutil

    for marker in request.node.iter_markers("tools"):
        missing = [name for name in marker.args if shutil.which(name) is None]
        if missing:
            packages = " ".join(TOOL_PACKAGES.get(name, name) for name in missing)
            pytest.fail(
                f"this test needs {', '.join(missing)}, not found: run `bash scripts/test.sh` "
                f"(or apt-get install {packages})",
                pytrace=False,
            )
