"""Registration of public objects for Keras serialization."""

import keras

PACKAGE = "keras_rnninit"


def keras_rnninit_export(*aliases):
    """Registers a class as `keras_rnninit>Name`, plus `keras_rnninit>Alias`.

    The class's own name is the one written into saved configs; the aliases
    are extra names that `keras.initializers.get`, `keras.layers.deserialize`
    and `keras.models.load_model` also accept.
    """

    def decorator(cls):
        for alias in aliases:
            keras.saving.register_keras_serializable(PACKAGE, alias)(cls)
        # Registered last, so that serialization writes the class's own name.
        return keras.saving.register_keras_serializable(PACKAGE)(cls)

    return decorator
