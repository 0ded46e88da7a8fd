"""The networks, pure torch.nn: no files, no CLI, no training loop."""

from mediumvc.nets.blocks import add_weight_norm, fold_weight_norm
from mediumvc.nets.mediumvc import MediumVC, MediumVCConfig
from mediumvc.nets.singlevc import SingleVC, SingleVCConfig

__all__ = ["MediumVC", "MediumVCConfig", "SingleVC", "SingleVCConfig", "add_weight_norm", "fold_weight_norm"]
