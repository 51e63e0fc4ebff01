"""keras-rnninit: initializations and layers that make ReLU RNNs train."""

from keras_rnninit import initializers
from keras_rnninit.initializers import IRNN
from keras_rnninit.initializers import NormalizedPositiveDefinite
from keras_rnninit.initializers import NPInit
from keras_rnninit.initializers import NPInputInit
from keras_rnninit.initializers import RandomWalkNormal
from keras_rnninit.initializers import ScaledIdentity
from keras_rnninit.version import __version__
