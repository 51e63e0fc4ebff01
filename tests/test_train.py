import json
import os
import signal
import subprocess
import sys
import time

import keras
import pytest

import keras_rnninit  # noqa: F401  (registers the classes for load_model)
from keras_rnninit import train

TINY = ["--task", "adding", "--length", "5", "--num-train", "32",
        "--num-validation", "16", "--num-test", "16", "--batch-size", "16",
        "--units", "4", "--quiet"]


def test_tiny_run_writes_checkpoints_and_prints_baseline(tmp_path, capsys):
    out = tmp_path / "run"
    code = train.main(TINY + ["--family", "irnn-scaled", "--hp", "gain=0.05",
                              "--epochs", "2", "--output-dir", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "test mse:" in printed and "baseline: 0.1667" in printed
    assert {"last.keras", "best.keras", "history.json", "result.json"} <= set(
        os.listdir(out)
    )
    result = json.loads((out / "result.json").read_text())
    assert result["family"] == "irnn-scaled" and result["epochs_run"] == 2
    assert result["baseline"] == pytest.approx(1 / 6)
    assert result["model"]["gain"] == 0.05
    model = keras.models.load_model(out / "best.keras")
    rnn = model.get_layer("rnn_0")
    assert rnn.cell.recurrent_initializer.get_config() == {"gain": 0.05}
    history = json.loads((out / "history.json").read_text())
    assert [e["epoch"] for e in history] == [1, 2] and "val_mse" in history[0]

    # Resume: continues from last.keras up to --epochs.
    code = train.main(TINY + ["--family", "irnn-scaled", "--hp", "gain=0.05",
                              "--epochs", "3", "--output-dir", str(out),
                              "--resume"])
    assert code == 0
    history = json.loads((out / "history.json").read_text())
    assert [e["epoch"] for e in history] == [1, 2, 3]
    assert history[2]["step"] == 3 * 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--family", "gru"], "invalid choice"),
        (["--family", "irnn", "--hp", "gain=0.1"], "gain"),
        (["--family", "irnn", "--hp", "gain"], "NAME=VALUE"),
        (["--family", "irnn", "--lr-decay", "0.1"], "lr-decay-steps"),
        (["--family", "irnn", "--momentum", "0.9"], "momentum"),
        (["--family", "irnn", "--rows"], "rows"),
        (["--family", "irnn", "--epochs", "-1"], "epochs"),
        (["--family", "irnn", "--units", "x"], "units"),
    ],
)
def test_bad_flags_exit_2(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        train.main(TINY + argv + ["--output-dir", str(tmp_path)])
    assert info.value.code == 2
    assert message in capsys.readouterr().err
    assert not os.listdir(tmp_path)


def test_missing_mnist_exits_1_with_options(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    code = train.main(["--family", "irnn", "--task", "mnist",
                       "--data-dir", str(tmp_path / "tfds")])
    assert code == 1
    assert "source='npz'" in capsys.readouterr().err


def test_command_line_end_to_end(tmp_path, subprocess_env):
    out = tmp_path / "cli"
    proc = subprocess.run(
        [sys.executable, "-m", "keras_rnninit.train", "--family", "lstm",
         "--epochs", "1", "--output-dir", str(out)] + TINY,
        capture_output=True, text=True, env=subprocess_env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "baseline: 0.1667" in proc.stdout
    assert os.path.isfile(out / "last.keras")


def test_help_explains_every_flag():
    parser = train.make_parser()
    text = parser.format_help()
    for action in parser._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, action.option_strings
    for flag in ("--family", "--task", "--length", "--clipnorm", "--lr-decay",
                 "--patience", "--resume", "--hp", "np-rnn"):
        assert flag in text


def test_help_shows_real_defaults_and_the_command_name():
    text = " ".join(train.make_parser().format_help().split())
    assert text.startswith("usage: rnninit-train")
    assert "(default: None)" not in text and "(default: False)" not in text
    assert "(default: 0.001)" in text  # --learning-rate


# Signal handling lives in the command line, not in the backend: checked once.
@pytest.mark.skipif(keras.backend.backend() != "jax",
                    reason="backend-independent; run on JAX")
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_stops_cleanly_and_says_how_to_resume(
        signum, code, tmp_path, subprocess_env):
    out = tmp_path / "run"
    args = ["--family", "irnn", "--epochs", "1000", "--patience", "0",
            "--output-dir", str(out)] + TINY
    process = subprocess.Popen(
        [sys.executable, "-m", "keras_rnninit.train", *args], env=subprocess_env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.time() + 300
    while (time.time() < deadline and process.poll() is None
           and not os.path.isfile(out / "last.keras")):
        time.sleep(0.1)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == code, err[-2000:]
    assert "Traceback" not in err
    assert f"saved in {out}" in err
    command = err.split("To resume: ", 1)[1].strip()
    assert command.startswith(f"cd {os.getcwd()} && KERAS_BACKEND=")
    assert "-m keras_rnninit.train --family irnn" in command
    assert command.endswith("--resume")


def test_a_signal_during_a_checkpoint_waits_until_the_files_are_whole(
        tmp_path, monkeypatch):
    from keras_rnninit import _interrupts, tasks

    real_save = train.Checkpoints._save

    def save_with_a_signal_inside(self, path):
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(10))  # lets the interpreter run the handler here
        real_save(self, path)

    monkeypatch.setattr(train.Checkpoints, "_save", save_with_a_signal_inside)
    previous = signal.getsignal(signal.SIGINT)
    _interrupts.handle_signals()
    out = tmp_path / "run"
    task = tasks.get("adding", length=4, num_train=32, num_validation=8,
                     num_test=8, batch_size=16, seed=0)
    try:
        with pytest.raises(KeyboardInterrupt):
            train.train("irnn", task, epochs=3, units=4, output_dir=str(out),
                        verbose=0)
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _interrupts._received = None
    assert sorted(os.listdir(out)) == ["best.keras", "history.json", "last.keras"]
    assert [e["epoch"] for e in json.loads((out / "history.json").read_text())] == [1]
    model = keras.models.load_model(out / "last.keras")
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 2


def test_a_resumed_run_keeps_best_keras_unless_it_does_better(tmp_path):
    from keras_rnninit import tasks

    task = tasks.get("adding", length=4, num_train=32, num_validation=8,
                     num_test=8, batch_size=16, seed=0)
    (tmp_path / "history.json").write_text(json.dumps(
        [{"epoch": 1, "val_mse": 0.01, "step": 2}]))
    checkpoints = train.Checkpoints(str(tmp_path), task)
    checkpoints.set_model(keras.Sequential([keras.Input((4, 2)), keras.layers.Dense(1)]))
    checkpoints.model.compile("adam", "mse")
    checkpoints.on_epoch_end(1, {"val_mse": 0.02})
    assert not (tmp_path / "best.keras").exists()
    assert (tmp_path / "last.keras").exists()
    checkpoints.on_epoch_end(2, {"val_mse": 0.005})
    assert (tmp_path / "best.keras").exists()
    history = json.loads((tmp_path / "history.json").read_text())
    assert [e["val_mse"] for e in history] == [0.01, 0.02, 0.005]


def test_a_signal_swallowed_by_a_gc_callback_still_stops_training(tmp_path):
    # Python runs the handler wherever the main thread is; inside a gc
    # callback (JAX has one) the exception is printed and dropped.
    import gc

    from keras_rnninit import _interrupts, tasks

    fired = []

    def signal_inside_gc(phase, info):
        if not fired:
            fired.append(phase)
            os.kill(os.getpid(), signal.SIGTERM)
            sum(range(10))  # lets the interpreter run the handler here

    task = tasks.get("adding", length=4, num_train=32, num_validation=8,
                     num_test=8, batch_size=16, seed=0)
    previous = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    hook, dropped = sys.unraisablehook, []
    sys.unraisablehook = dropped.append
    _interrupts.handle_signals()
    gc.callbacks.append(signal_inside_gc)
    try:
        # Delivered again a moment after the callback: during the training.
        with pytest.raises(_interrupts.Terminated):
            gc.collect()
            assert fired
            train.train("irnn", task, epochs=2, units=4,
                        output_dir=str(tmp_path / "run"), verbose=0)
        assert not dropped  # nothing raised where Python would print and drop it
    finally:
        sys.unraisablehook = hook
        gc.callbacks.remove(signal_inside_gc)
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])
        _interrupts._received = None


def test_stop_when_solved_records_the_step():
    import dataclasses

    from keras_rnninit import tasks

    task = tasks.get("adding", length=4, num_train=32, num_validation=8,
                     num_test=8, batch_size=16, seed=0)
    task = dataclasses.replace(task, success_threshold=1e6)
    _, result = train.train("irnn", task, epochs=5, patience=0, verbose=0,
                            stop_when_solved=True, units=4)
    assert result["solved"] and result["solved_epoch"] == 1
    assert result["solved_step"] == 2 and result["epochs_run"] == 1
    assert "test mse" in train.format_result(result)
