import keras
import numpy as np
import pytest

from keras_rnninit import tasks
from keras_rnninit.models import build_model
from keras_rnninit.tasks.waveform import multirate_signal
from keras_rnninit.tasks.waveform import waveform


def all_batches(ds):
    xs, ys = zip(*[(np.asarray(x), np.asarray(y)) for x, y in ds])
    return np.concatenate(xs), np.concatenate(ys)


COMPONENTS = [(160, 1.0, 0.0), (64, 0.8, 1.0), (25, 0.6, 2.0), (10, 0.5, 3.0),
              (4, 0.4, 4.0)]


def docstring_signal(length):
    # s(t) = sum_k a_k sin(2 pi t / P_k + phi_k), zero mean, max |s| = 1.
    t = np.arange(length)
    s = sum(a * np.sin(2 * np.pi * t / p + phi) for p, a, phi in COMPONENTS)
    s = s - s.mean()
    return s / np.abs(s).max()


@pytest.mark.parametrize("length", [320, 32, 2])
def test_default_waveform_is_the_documented_formula(length):
    signal = multirate_signal(length)
    assert signal.shape == (length,) and signal.dtype == np.float32
    np.testing.assert_allclose(signal, docstring_signal(length), atol=1e-6)
    assert abs(signal.mean()) < 1e-6 and np.abs(signal).max() == pytest.approx(1.0)


def test_every_component_carries_more_than_the_threshold():
    # A prediction without sine k has NMSE Var(sine k) / Var(sum): all of
    # them are above the success threshold 0.05.
    t = np.arange(320)
    sines = [a * np.sin(2 * np.pi * t / p + phi) for p, a, phi in COMPONENTS]
    shares = [np.var(s) / np.var(sum(sines)) for s in sines]
    assert min(shares) > 0.06


def test_dataset_shapes_and_metadata():
    task = tasks.get("waveform", num_train=6, batch_size=2)
    x, y = all_batches(task.train)
    assert x.shape == (6, 320, 1) and y.shape == (6, 320, 1)
    assert x.dtype == np.float32 and y.dtype == np.float32
    np.testing.assert_array_equal(x, 1.0)
    assert sum(1 for _ in task.train) == 3
    target = multirate_signal(320)
    np.testing.assert_array_equal(y, np.broadcast_to(target[None, :, None], y.shape))
    # A generation task: validation and test are the same single sequence.
    for split in (task.validation, task.test):
        xs, ys = all_batches(split)
        assert xs.shape == (1, 320, 1)
        np.testing.assert_array_equal(ys[0, :, 0], target)
    assert task.input_shape == (320, 1) and task.output_size == 1
    assert task.sequence_output and task.head_activation == "linear"
    assert (task.loss, task.metric, task.direction) == ("mse", "nmse", "min")
    assert task.objective == "val_nmse"
    assert task.baseline == 1.0 and task.success_threshold == 0.05
    assert task.loss_baseline == pytest.approx(np.var(target.astype("float64")))
    assert task.solved(0.05) and not task.solved(0.2)


def test_user_signal():
    clip = np.arange(10.0) ** 2
    task = waveform(signal=clip)
    _, y = all_batches(task.test)
    assert task.input_shape == (10, 1)
    expected = clip - clip.mean()
    np.testing.assert_allclose(y[0, :, 0], expected / np.abs(expected).max(),
                               rtol=1e-6)
    _, raw = all_batches(waveform(signal=clip, length=4, normalize=False).test)
    np.testing.assert_array_equal(raw[0, :, 0], clip[:4])
    assert waveform(signal=list(clip), length=4).config["signal"] == [0, 1, 4, 9]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"length": 1}, "length"),
        ({"length": 2.5}, "length"),
        ({"signal": [1.0, np.nan, 2.0]}, "signal.*finite"),
        ({"signal": [1.0, np.inf, 2.0]}, "signal.*finite"),
        ({"signal": []}, "signal.*empty"),
        ({"signal": np.ones((4, 2))}, r"signal.*1-D.*\(4, 2\)"),
        ({"signal": "abc"}, "signal"),
        ({"signal": [3.0, 3.0, 3.0]}, "signal.*constant"),
        ({"signal": [1.0, 2.0, 3.0], "length": 5}, "length"),
        ({"signal": [1.0]}, "length"),
        ({"normalize": 1}, "normalize"),
        ({"batch_size": 0}, "batch_size"),
        ({"num_train": 0}, "num_train"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        tasks.get("waveform", **kwargs)
    assert len(str(info.value).splitlines()) == 1


def test_built_model_reports_nmse_of_one_for_the_mean():
    task = tasks.get("waveform", length=16)
    model = build_model("clockwork", task, units=8, num_modules=4, seed=0)
    assert model.output_shape == (None, 16, 1)
    # A zero head predicts its bias: set it to the target's mean (0).
    head = model.get_layer("head")
    head.set_weights([np.zeros_like(w) for w in head.get_weights()])
    logs = model.evaluate(task.test, verbose=0, return_dict=True)
    assert logs["nmse"] == pytest.approx(1.0, rel=1e-5)
    assert logs["loss"] == pytest.approx(task.loss_baseline, rel=1e-5)


# Not on torch: its generic Clockwork loop takes about 14 s for these 300
# steps (2 to 4 s on JAX and TensorFlow, which run the fused loop), and
# whether the task can be learnt does not depend on the backend.
@pytest.mark.skipif(keras.backend.backend() == "torch", reason="slow on torch")
def test_clockwork_learns_a_short_waveform():
    task = tasks.get("waveform", length=32, num_train=100)
    model = build_model("clockwork", task, units=16, num_modules=4,
                        learning_rate=1e-2, clipnorm=1.0, seed=0)
    before = model.evaluate(task.test, verbose=0, return_dict=True)["nmse"]
    model.fit(task.train, epochs=3, verbose=0, shuffle=False)
    after = model.evaluate(task.test, verbose=0, return_dict=True)["nmse"]
    assert after < 0.5 * before and after < 0.5
