"""Fused path == generic path: outputs and every gradient, on each backend."""

import warnings

import keras
import numpy as np

BACKEND = keras.backend.backend()
# Every backend has a fused path: `use_fused=True` warns on a fallback.
FUSED = True


def to_numpy(x):
    if hasattr(x, "detach"):  # torch
        x = x.detach()
    return keras.ops.convert_to_numpy(x)


def _pack(inputs):
    return inputs[0] if len(inputs) == 1 else inputs


def _loss(outputs, projections):
    return sum(
        keras.ops.sum(
            keras.ops.cast(o, "float32") * keras.ops.convert_to_tensor(p)
        )
        for o, p in zip(outputs, projections)
    )


def outputs_and_gradients(model, inputs, training=False, seed=0):
    """Outputs of `model`, and the gradients of a fixed random projection of
    them with respect to every float input and every trainable weight."""
    inputs = list(inputs)
    outputs = keras.tree.flatten(model(_pack(inputs), training=training))
    rng = np.random.default_rng(seed)
    projections = [
        rng.normal(size=tuple(o.shape)).astype("float32") for o in outputs
    ]
    wanted = [i for i, a in enumerate(inputs) if a.dtype.kind == "f"]
    if BACKEND == "tensorflow":
        import tensorflow as tf

        tensors = [tf.constant(a) for a in inputs]
        with tf.GradientTape() as tape:
            tape.watch([tensors[i] for i in wanted])
            outputs = keras.tree.flatten(
                model(_pack(tensors), training=training)
            )
            loss = _loss(outputs, projections)
        grads = tape.gradient(
            loss, [tensors[i] for i in wanted] + model.trainable_weights
        )
    elif BACKEND == "jax":
        import jax

        frozen = [v.value for v in model.non_trainable_variables]

        def loss_fn(trainable, differentiated):
            args = list(inputs)
            for i, a in zip(wanted, differentiated):
                args[i] = a
            outs, _ = model.stateless_call(
                trainable, frozen, _pack(args), training=training
            )
            outs = keras.tree.flatten(outs)
            return _loss(outs, projections), outs

        trainable = [v.value for v in model.trainable_variables]
        (_, outputs), (g_weights, g_inputs) = jax.jit(jax.value_and_grad(
            loss_fn, argnums=(0, 1), has_aux=True
        ))(trainable, [inputs[i] for i in wanted])
        grads = list(g_inputs) + list(g_weights)
    else:
        import torch

        tensors = [torch.tensor(a) for a in inputs]
        for i in wanted:
            tensors[i].requires_grad_(True)
        outputs = keras.tree.flatten(model(_pack(tensors), training=training))
        weights = [w.value for w in model.trainable_weights]
        differentiated = [tensors[i] for i in wanted] + weights
        grads = torch.autograd.grad(
            _loss(outputs, projections), differentiated, allow_unused=True
        )
        grads = [
            torch.zeros_like(t) if g is None else g
            for g, t in zip(grads, differentiated)
        ]
    # An input the outputs do not depend on (a step counter) may get None.
    grads = [
        np.zeros(inputs[i].shape) if g is None else to_numpy(g)
        for i, g in zip(wanted + [None] * len(grads), grads)
    ]
    return [to_numpy(o) for o in outputs], grads


def randomize(model, rng, scale=0.6):
    model.set_weights(
        [
            rng.uniform(-scale, scale, w.shape).astype("float32")
            for w in model.get_weights()
        ]
    )


def assert_fused_equals_generic(
    build, inputs, rng, training=False, atol=1e-5, rtol=1e-4
):
    """`build(use_fused)` -> a `keras.Model`; compares the two paths.

    The fused model must not fall back to the generic loop: with
    `use_fused=True` a fallback warns, and warnings are errors here.
    """
    fused, generic = build(FUSED), build(False)
    randomize(fused, rng)
    generic.set_weights(fused.get_weights())
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        outs_f, grads_f = outputs_and_gradients(fused, inputs, training)
    outs_g, grads_g = outputs_and_gradients(generic, inputs, training)
    assert len(grads_f) == len(grads_g) > 0
    for a, b in zip(outs_f, outs_g):
        np.testing.assert_allclose(a, b, atol=atol, rtol=rtol)
    for i, (a, b) in enumerate(zip(grads_f, grads_g)):
        np.testing.assert_allclose(
            a, b, atol=atol, rtol=rtol, err_msg=f"gradient {i}"
        )
    return outs_f, grads_f
