"""Two short bundled clips for the quick start and the web page: a source and a target from two
speakers held out from all training of the bundled model (see ATTRIBUTION.md)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
SOURCE = HERE / "source_librispeech_1040.wav"  # LibriSpeech speaker 1040, male, 5.2 s
TARGET = HERE / "target_vctk_p228.wav"  # VCTK speaker p228, female, 7.5 s
ATTRIBUTION = (
    "Bundled samples: LibriSpeech speaker 1040 (CC BY 4.0, Panayotov et al. 2015) and VCTK speaker p228 "
    "(CC BY 4.0, CSTR, University of Edinburgh)."
)


def sample_paths() -> dict[str, str]:
    """{'source': path, 'target': path} for the bundled clips ({} if they were left out of this install)."""
    return {"source": str(SOURCE), "target": str(TARGET)} if SOURCE.is_file() and TARGET.is_file() else {}
