"""Mel -> waveform."""

from mediumvc.vocoder.chunked import MelVocoder
from mediumvc.vocoder.hifigan import HiFiGANConfig, HiFiGANGenerator, load_hifigan, universal_checkpoint_path

__all__ = ["HiFiGANConfig", "HiFiGANGenerator", "MelVocoder", "load_hifigan", "universal_checkpoint_path"]
