import pytest

from keras_rnninit import tasks


def test_names():
    assert tasks.names() == [
        "adding", "multiplication", "copy", "mnist", "permuted-mnist", "digits",
        "waveform",
    ]


def test_get_passes_common_arguments():
    task = tasks.get("adding", length=7, num_train=8, num_validation=4,
                     num_test=4, batch_size=4, seed=0)
    assert isinstance(task, tasks.Task)
    assert task.input_shape == (7, 2) and task.config["batch_size"] == 4
    assert tasks.get("copy", length=5).input_shape == (25, 10)


def test_unknown_name_lists_the_options():
    with pytest.raises(ValueError, match="nope") as info:
        tasks.get("nope")
    for name in tasks.names():
        assert name in str(info.value)


def test_unknown_argument_lists_the_accepted_ones():
    with pytest.raises(ValueError, match="lenght") as info:
        tasks.get("adding", lenght=5)
    assert "length" in str(info.value) and "batch_size" in str(info.value)
    with pytest.raises(ValueError, match="length"):
        tasks.get("digits", length=64)


def test_task_objective_and_direction():
    task = tasks.get("digits")
    assert task.objective_spec() == ("val_accuracy", "max")
    assert task.is_better(0.9, 0.8) and task.solved(0.95)
    with pytest.raises(ValueError, match="direction"):
        tasks.Task("t", None, None, None, (3, 1), 1, "linear", "mse", "mse",
                   "down", 1.0, 0.1)
