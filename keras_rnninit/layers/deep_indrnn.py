"""Deep and residual IndRNN stacks, as in the IndRNN papers."""

import keras

from keras_rnninit import _checks
from keras_rnninit.layers.indrnn import IndRNN


def deep_indrnn(
    input_shape,
    units=128,
    num_layers=6,
    timesteps="auto",
    gamma=5.0,
    activation="relu",
    residual=False,
    batch_norm=True,
    dropout=0.1,
    long_memory=True,
    num_classes=None,
    classifier_activation="softmax",
    return_sequences=False,
    use_fused="auto",
    name="deep_indrnn",
):
    """Builds a deep IndRNN: stacked IndRNN layers with batch normalization.

    Each block is `IndRNN(units, return_sequences=True)` followed by batch
    normalization over time (statistics over batch and steps, per unit) and
    dropout with one mask for all steps, as in the authors' code. With
    `residual=True`, each block after the first adds its input to its output
    (the residual IndRNN). Every layer's recurrent weights are bounded by
    `gamma ** (1 / T)` and initialized in `U[0, gamma ** (1 / T)]`; the last
    layer, with `long_memory=True`, in `U[(1 / gamma) ** (1 / T),
    gamma ** (1 / T)]`.

    The defaults are the paper's 6-layer, 128-unit sequential-MNIST model
    (`gamma=5`, dropout 0.1, batch norm after each layer):
    `deep_indrnn((784, 1), num_classes=10)`.

    Args:
        input_shape: Tuple `(timesteps, features)`; `timesteps` may be
            `None`.
        units: Positive integer, units of every IndRNN layer. Default: 128.
        num_layers: Positive integer, number of IndRNN layers. Default: 6.
        timesteps: Sequence length `T` for the recurrent bound and the
            initialization; `"auto"` (default) takes `input_shape[0]`.
            `None` means no bound (see `IndRNNCell`).
        gamma: Positive float, the bound's `gamma` (the authors' `MAG`).
            Default: 5.0, the authors' value for MNIST.
        activation: Activation of the IndRNN layers. Default: `"relu"`.
        residual: Boolean, add each block's input to its output (from the
            second block on). Default: `False`.
        batch_norm: Boolean, batch normalization after each IndRNN layer.
            Default: `True`.
        dropout: Float in [0, 1), dropout after each block, one mask for
            all steps. Default: 0.1.
        long_memory: Boolean, initialize the last IndRNN layer for a long
            memory. Needs `timesteps`. Default: `True`.
        num_classes: `None` or a positive integer. If given, a `Dense`
            classifier on the last step's features is added.
        classifier_activation: Activation of the classifier. Default:
            `"softmax"`; `None` returns logits.
        return_sequences: Boolean. If `True` (and no classifier), the model
            returns the whole sequence of the last block; else its last
            step. Default: `False`.
        use_fused: Passed to every `IndRNN` layer. Default: `"auto"`.
        name: Name of the model.

    Returns:
        A functional `keras.Model`.

    Example:

    ```python
    model = deep_indrnn((784, 1), num_classes=10)  # the paper's MNIST model
    model.compile("adam", "sparse_categorical_crossentropy")
    ```

    Reference:
    - [Li et al., 2018, Independently Recurrent Neural Network (IndRNN):
      Building A Longer and Deeper RNN](https://arxiv.org/abs/1803.04831)
    - [Li et al., 2019, Deep Independently Recurrent Neural Network
      (IndRNN)](https://arxiv.org/abs/1910.06251)
    """
    input_shape = tuple(input_shape)
    if len(input_shape) != 2:
        raise ValueError(
            "`input_shape` must be `(timesteps, features)`. "
            f"Received: input_shape={input_shape}"
        )
    units = _checks.positive_int(units, "units")
    num_layers = _checks.positive_int(num_layers, "num_layers")
    num_classes = _checks.positive_int(num_classes, "num_classes", allow_none=True)
    if timesteps == "auto":
        timesteps = input_shape[0]
    timesteps = _checks.positive_int(timesteps, "timesteps", allow_none=True)
    dropout = _checks.rate(dropout, "dropout")
    if long_memory and timesteps is None:
        raise ValueError(
            "`long_memory=True` needs the sequence length: pass `timesteps` "
            "or an `input_shape` with a known length. Received: "
            f"timesteps=None, input_shape={input_shape}"
        )

    length = input_shape[0]
    take_last = num_classes is not None or not return_sequences
    if residual and take_last and length is None:
        raise ValueError(
            "A residual stack that returns its last step needs a known "
            "sequence length. Pass `input_shape=(timesteps, features)` with "
            f"a length, or `return_sequences=True`. Received: "
            f"input_shape={input_shape}"
        )
    inputs = keras.Input(input_shape, name=f"{name}_input")
    x = inputs
    for i in range(num_layers):
        last = i == num_layers - 1
        # With an unknown length the last step cannot be cropped from the
        # sequence: the last layer then returns only its last step.
        sequences = not (last and take_last and length is None)
        block_input = x
        x = IndRNN(
            units,
            activation=activation,
            timesteps=timesteps,
            gamma=gamma,
            long_memory=bool(long_memory and last),
            return_sequences=sequences,
            use_fused=use_fused,
            name=f"{name}_indrnn_{i}",
        )(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(name=f"{name}_bn_{i}")(x)
        if dropout:
            noise_shape = (None, 1, units) if sequences else None
            x = keras.layers.Dropout(
                dropout, noise_shape=noise_shape, name=f"{name}_dropout_{i}"
            )(x)
        if residual and i > 0:
            x = keras.layers.Add(name=f"{name}_add_{i}")([block_input, x])
    if take_last and length is not None:
        x = _last_step(x, length, f"{name}_last_step")
    if num_classes is not None:
        x = keras.layers.Dense(
            num_classes,
            activation=classifier_activation,
            name=f"{name}_classifier",
        )(x)
    return keras.Model(inputs, x, name=name)


def _last_step(x, length, name):
    """`x[:, -1]` from layers that `.keras` files load in safe mode."""
    x = keras.layers.Cropping1D((length - 1, 0), name=f"{name}_crop")(x)
    return keras.layers.Reshape((x.shape[-1],), name=name)(x)
