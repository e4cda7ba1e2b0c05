"""Layers: learnable-basis layers and the building blocks around them. All are drop-ins that take and
return ordinary tensors with documented shapes."""
# Each family adds its exports under its own marker (keeps parallel work from colliding).
# [kan]
from .kan import KAN  # noqa: E402
from .kan_linear import KANLinear  # noqa: E402
# [kat]
from .grkan import GRKAN, GroupRational  # noqa: E402
# [attention-tabular]
from .afkan import AFKANLinear, ReLUKANLinear  # noqa: E402,F401
from .attention import KANAttention, KArAtOperator  # noqa: E402,F401
# [physics]
from .fourier_features import FourierFeatures, fourier_features  # noqa: E402,F401
from .siren import SIREN, SineLayer, sine_layer  # noqa: E402,F401
from .activations import Activation, activation_names, get_activation  # noqa: E402,F401
