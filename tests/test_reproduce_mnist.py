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


def test_sigterm_stops_a_unit_after_its_step_and_keeps_its_checkpoint(
        tmp_path, subprocess_env):
    """As the orchestrator stops its units: SIGTERM to an MNIST unit while it
    trains (most of its time inside JAX's step, where the interrupt used to
    be swallowed and the unit trained on) ends it within seconds, and the
    rerun resumes from the checkpoint."""
    import signal
    import subprocess
    import time

    path = tmp_path / "mnist.npz"
    make_mnist_npz(path, num_train=300, num_test=50)
    settings = dict(SETTINGS, rows=False, max_steps=10**6, chunk=5,
                    checkpoint_minutes=1e-9, num_train=200, num_validation=20,
                    num_test=20)
    directory = tmp_path / "run"
    code = (
        "import sys; sys.path.insert(0, 'benchmarks'); "
        "from keras_rnninit import _interrupts; _interrupts.handle_signals(); "
        "import _reproduction_mnist as m; "
        f"m.run({str(directory)!r}, 'indrnn', {str(path)!r}, {settings!r}, "
        "log=lambda *a: print(*a, flush=True))")
    root = os.path.join(os.path.dirname(__file__), os.pardir)
    process = subprocess.Popen([sys.executable, "-c", code], cwd=root,
                               env=subprocess_env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    state = directory / mnist.CHECKPOINT_STATE
    deadline = time.monotonic() + 240
    while not state.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert state.exists(), process.communicate()[0][-2000:]
    time.sleep(1.0)  # well inside a training step
    process.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    try:
        process.wait(timeout=30)
    finally:
        process.kill()
    assert time.monotonic() - sent < 30
    assert process.returncode != 0
    with open(state) as f:
        steps = json.load(f)["steps"]
    assert steps >= 5 and mnist.read(str(directory)) is None
