"""Mel -> waveform."""

from mediumvc.vocoder.base import Vocoder
from mediumvc.vocoder.chunked import MelVocoder
from mediumvc.vocoder.hifigan import HiFiGANConfig, HiFiGANGenerator, load_hifigan, universal_checkpoint_path
from mediumvc.vocoder.istft import ISTFTVocoder, ISTFTVocoderConfig

__all__ = [
    "HiFiGANConfig",
    "HiFiGANGenerator",
    "ISTFTVocoder",
    "ISTFTVocoderConfig",
    "MelVocoder",
    "Vocoder",
    "load_hifigan",
    "universal_checkpoint_path",
]
