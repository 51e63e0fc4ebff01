"""`reproduce.py`'s MNIST runs: a checkpointed run resumes where it stopped.

One end-to-end case on the JAX backend (the reproduction's own backend):
a run stopped right after a checkpoint and resumed ends with the same
model as a run never stopped.
"""

import json
import os
import sys

import keras
import pytest

from helpers import make_mnist_npz

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks"))

import _reproduction_mnist as mnist  # noqa: E402

pytestmark = pytest.mark.skipif(keras.backend.backend() != "jax",
                                reason="one end-to-end case, on JAX")

SETTINGS = dict(minutes=60, evaluations=1, batch_size=8, num_train=24,
                num_validation=8, num_test=12, rows=True, chunk=2,
                validation_in_budget=False, max_steps=6,
                checkpoint_minutes=1e-9)


# IRNN's test loss moves with every step here; the deep IndRNN's (batch
# normalization's moving statistics after 6 steps) does not, so it checks
# that its checkpoint reloads and resumes.
@pytest.mark.parametrize("name", ["irnn", "indrnn"])
def test_a_stopped_run_resumes_from_its_checkpoint(tmp_path, monkeypatch, name):
    path = tmp_path / "mnist.npz"
    make_mnist_npz(path, num_train=40)
    whole = mnist.run(str(tmp_path / "whole"), name, str(path), SETTINGS,
                      log=lambda *a: None)

    stopped = str(tmp_path / "stopped")
    save = mnist.Checkpoint.save

    def save_then_stop(self, model, state):
        save(self, model, state)
        if state["steps"] == 4:
            raise KeyboardInterrupt
    monkeypatch.setattr(mnist.Checkpoint, "save", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        mnist.run(stopped, name, str(path), SETTINGS, log=lambda *a: None)
    with open(os.path.join(stopped, mnist.CHECKPOINT_STATE)) as f:
        assert json.load(f)["steps"] == 4
    assert mnist.read(stopped) is None
    monkeypatch.setattr(mnist.Checkpoint, "save", save)

    lines = []
    resumed = mnist.run(stopped, name, str(path), SETTINGS, log=lines.append)
    assert any("resumed from its checkpoint: 4 steps" in line for line in lines)
    assert resumed["steps"] == whole["steps"] == 6
    assert resumed["sessions"] == 2 and whole["sessions"] == 1
    assert resumed["test_loss"] == pytest.approx(whole["test_loss"], rel=1e-6)
    assert resumed["test_accuracy"] == whole["test_accuracy"]
    # The finished run keeps its result, not its checkpoints.
    assert sorted(os.listdir(stopped)) == [mnist.RESULT_FILE]


def test_the_budget_can_leave_validation_out(tmp_path):
    path = tmp_path / "mnist.npz"
    make_mnist_npz(path, num_train=40)
    result = mnist.run(str(tmp_path / "run"), "lstm", str(path),
                       dict(SETTINGS, evaluations=3, checkpoint_minutes=None),
                       log=lambda *a: None)
    assert result["steps"] == 6
    assert 0 < result["training_seconds"] < result["seconds"]
    assert [s for s, _, _ in result["curve"]][-1] == 6


def test_a_swallowed_interrupt_stops_the_run_after_its_step(tmp_path, monkeypatch):
    """A SIGTERM whose exception is swallowed where it lands (as inside JAX's
    conversion of a step's logs, where the orchestrator's stop was lost and
    the unit trained on) still stops the run at the end of the next step,
    its checkpoint kept for the rerun."""
    import signal

    from keras_rnninit import _interrupts

    path = tmp_path / "mnist.npz"
    make_mnist_npz(path, num_train=40)
    epoch_end = mnist.WallClock.on_epoch_end

    def epoch_end_then_signal(self, epoch, logs=None):
        epoch_end(self, epoch, logs)  # its checkpoint at step 2
        if self.steps == 2:
            try:  # the signal lands here, and its exception is dropped
                os.kill(os.getpid(), signal.SIGTERM)
            except KeyboardInterrupt:
                pass
    monkeypatch.setattr(mnist.WallClock, "on_epoch_end", epoch_end_then_signal)
    handlers = {s: signal.getsignal(s) for s in _interrupts.SIGNALS}
    _interrupts.handle_signals()
    directory = str(tmp_path / "run")
    try:
        with pytest.raises(KeyboardInterrupt):
            mnist.run(directory, "irnn", str(path), SETTINGS, log=lambda *a: None)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        _interrupts._received = None
    with open(os.path.join(directory, mnist.CHECKPOINT_STATE)) as f:
        assert json.load(f)["steps"] == 2
    assert mnist.read(directory) is None


def test_a_checkpointed_run_counts_as_partly_done(tmp_path):
    directory = tmp_path / "run"
    settings = dict(SETTINGS, minutes=10)
    assert mnist.fraction_done(str(directory), settings) == 0.0
    directory.mkdir()
    (directory / mnist.CHECKPOINT_STATE).write_text(json.dumps(
        {"elapsed": 330.0, "training": 300.0, "model": "checkpoint-5.keras"}))
    assert mnist.fraction_done(str(directory), settings) == pytest.approx(0.5)
    (directory / mnist.RESULT_FILE).write_text("{}")
    assert mnist.fraction_done(str(directory), settings) == 1.0
