"""Recurrent layers: IndRNN and Clockwork RNN."""

from keras_rnninit.layers.clockwork import Clockwork
from keras_rnninit.layers.clockwork import ClockworkCell
from keras_rnninit.layers.deep_indrnn import deep_indrnn
from keras_rnninit.layers.indrnn import IndRNN
from keras_rnninit.layers.indrnn import IndRNNCell
