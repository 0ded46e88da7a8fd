"""mediumvc: any-to-any voice conversion (MediumVC + SingleVC), from audio files to converted audio."""

__version__ = "0.1.0"

from mediumvc.audio import SAMPLE_RATE, load_audio, save_wav
from mediumvc.config import ModelConfig, load_config
from mediumvc.converter import VoiceConverter
from mediumvc.errors import AudioError, CheckpointError, MediumVCError
from mediumvc.voice import TargetVoice

__all__ = [
    "VoiceConverter",
    "TargetVoice",
    "ModelConfig",
    "load_config",
    "load_audio",
    "save_wav",
    "SAMPLE_RATE",
    "MediumVCError",
    "AudioError",
    "CheckpointError",
]
