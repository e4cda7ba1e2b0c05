"""Layers: learnable-basis layers and the building blocks around them. All are drop-ins that take and
return ordinary tensors with documented shapes."""
from __future__ import annotations

from .activations import Activation, activation_names, get_activation
from .afkan import AFKANLinear, ReLUKANLinear
from .attention import KANAttention, KArAtOperator
from .evonorm import EvoNormB0, EvoNormS0
from .fourier_features import FourierFeatures, fourier_features
from .grkan import GRKAN, GroupRational
from .hyper import HyperNetwork, mip_encoding
from .kan import KAN, KANAttribution
from .kan_linear import KANLinear
from .kan_symbolic import KANEdges, register_symbolic, unregister_symbolic
from .location import GridEncoder, LocationEncoder, SphericalHarmonicsEncoder
from .neurbf import AdaptiveRBF, BilinearGrid, GridField, NeuRBF
from .siren import SIREN, SineLayer, sine_layer
from .snnk import SNNKLinear
from .spiking import LIFNeuron, spike, surrogate_grad
from .ssm import SSMClassifier, SSMLayer, hippo_legs, ptd_perturbation, transfer_function

__all__ = ["AFKANLinear", "Activation", "AdaptiveRBF", "BilinearGrid", "EvoNormB0", "EvoNormS0", "FourierFeatures",
           "GRKAN", "GridEncoder", "GridField", "GroupRational", "HyperNetwork", "KAN", "KANAttention", "KANAttribution",
           "KANLinear", "KArAtOperator", "LocationEncoder", "NeuRBF", "ReLUKANLinear", "SIREN", "SNNKLinear",
           "SSMClassifier", "SSMLayer", "SineLayer", "SphericalHarmonicsEncoder", "activation_names",
           "fourier_features", "get_activation", "hippo_legs", "mip_encoding", "ptd_perturbation", "sine_layer",
           "transfer_function"]
__all__ += ["KANEdges", "register_symbolic", "unregister_symbolic"]
