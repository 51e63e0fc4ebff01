import glob
import json
import os
import signal
import subprocess
import sys
import time

import keras
import pytest

from keras_rnninit.tuning import cli

BACKEND = keras.backend.backend()
# Resuming and keras-tuner's chief/worker protocol live in keras-tuner and in
# the search directory, not in the backend: checked once, on TensorFlow, to
# keep the three-backend suite short.
tensorflow_only = pytest.mark.skipif(
    BACKEND != "tensorflow", reason="backend-independent; run on TensorFlow"
)
TINY = [
    "--task", "adding", "--length", "8", "--num-train", "64",
    "--num-validation", "32", "--batch-size", "32", "--units", "8",
    "--epochs", "1", "--verbose", "0", "--strategy", "default",
]


def run_cli(args, env, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "keras_rnninit.tuning", *args],
        env=env, capture_output=True, text=True, timeout=timeout,
    )


def completed_trials(directory, family):
    done = {}
    for path in glob.glob(os.path.join(directory, family, "trial_*", "trial.json")):
        with open(path) as f:
            trial = json.load(f)
        if trial["status"] == "COMPLETED":
            done[trial["trial_id"]] = (trial["hyperparameters"]["values"], trial["score"])
    return done


def test_help_explains_every_flag(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for action in cli.search_parser()._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, action.option_strings
    for flag in ("--families", "--tuner", "--strategy", "--space", "--overwrite",
                 "--threshold", "rnninit-tune report DIR", "KERASTUNER_ORACLE_IP"):
        assert flag in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["--families", "irnn,gru-magic"], "Unknown family gru-magic"),
        (["--task", "sorting"], "Unknown task 'sorting'"),
        (["--optimizers", ""], "optimizer is empty"),
        (["--learning-rate", "1e-2,1e-3"], "learning_rate"),
        (["--trials", "0"], "trials must be >= 1"),
        (["--tuner", "hyperband"], "invalid choice"),
        (["--strategy", "tpu"], "tpu"),
    ],
)
def test_bad_flags_exit_2_with_a_clear_error(args, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(TINY + ["--directory", str(tmp_path / "d")] + args)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_report_of_a_non_search_directory_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["report", str(tmp_path)])
    assert info.value.code == 2
    assert "search.json is missing" in capsys.readouterr().err


def test_cli_end_to_end_tiny_search(tmp_path, subprocess_env):
    d = str(tmp_path / "search")
    out = run_cli(TINY + ["--families", "irnn,np-rnn", "--trials", "2",
                          "--directory", d], subprocess_env)
    assert out.returncode == 0, out.stderr[-4000:]
    assert "Sensitivity" in out.stdout and "np-rnn" in out.stdout
    with open(os.path.join(d, "sensitivity.json")) as f:
        report = json.load(f)
    for family in ("irnn", "np-rnn"):
        summary = report["families"][family]
        assert summary["trials"] == 2
        assert 0.0 <= summary["success_fraction"] <= 1.0
        assert len(completed_trials(d, family)) == 2
    assert os.path.getsize(os.path.join(d, "sensitivity.png")) > 0
    # The report can be rebuilt from the directory alone.
    rebuilt = run_cli(["report", d], subprocess_env)
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    assert "irnn" in rebuilt.stdout


def test_a_diverging_trial_is_reported_not_fatal(tmp_path, subprocess_env):
    d = str(tmp_path / "search")
    out = run_cli(TINY + ["--families", "irnn", "--trials", "1",
                          "--learning-rate", "1e6,1e7", "--epochs", "2", "--optimizers", "sgd",
                          "--clipnorms", "none", "--directory", d],
                  subprocess_env)
    assert out.returncode == 0, out.stderr[-4000:]
    with open(os.path.join(d, "sensitivity.json")) as f:
        irnn = json.load(f)["families"]["irnn"]
    assert irnn["trials"] == 1 and irnn["diverged"] == 1 and irnn["successes"] == 0


@tensorflow_only
def test_resume_after_sigkill_keeps_finished_trials(tmp_path, subprocess_env):
    d = str(tmp_path / "search")
    args = TINY + ["--families", "irnn", "--trials", "4", "--directory", d,
                   "--epochs", "3"]
    process = subprocess.Popen(
        [sys.executable, "-m", "keras_rnninit.tuning", *args],
        env=subprocess_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 400
    while time.time() < deadline and len(completed_trials(d, "irnn")) < 2:
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = completed_trials(d, "irnn")
    assert 2 <= len(before) < 4, "the search was not interrupted mid-way"
    out = run_cli(args, subprocess_env)
    assert out.returncode == 0, out.stderr[-4000:]
    after = completed_trials(d, "irnn")
    assert len(after) == 4
    for trial_id, result in before.items():
        assert after[trial_id] == result
    # --overwrite starts over.
    out = run_cli(TINY + ["--families", "irnn", "--trials", "1", "--directory", d,
                          "--overwrite"], subprocess_env)
    assert out.returncode == 0, out.stderr[-4000:]
    assert len(completed_trials(d, "irnn")) == 1


@tensorflow_only
def test_a_different_search_in_the_same_directory_is_refused(tmp_path, subprocess_env):
    d = str(tmp_path / "search")
    out = run_cli(TINY + ["--families", "irnn", "--trials", "1", "--directory", d],
                  subprocess_env)
    assert out.returncode == 0, out.stderr[-4000:]
    other = run_cli(TINY + ["--families", "irnn", "--trials", "1", "--directory", d,
                            "--length", "9"], subprocess_env)
    assert other.returncode == 2
    assert "--overwrite" in other.stderr and "task_kwargs" in other.stderr


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@tensorflow_only
def test_chief_and_two_workers_on_loopback(tmp_path, subprocess_env):
    d = str(tmp_path / "search")
    port = free_port()
    common = TINY + ["--families", "irnn", "--trials", "4", "--directory", d,
                     "--oracle-port", str(port), "--timeout", "500"]
    chief = subprocess.Popen(
        [sys.executable, "-m", "keras_rnninit.tuning", *common, "--tuner-id", "chief"],
        env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "keras_rnninit.tuning", *common,
             "--tuner-id", f"tuner{i}"],
            env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    try:
        outputs = [w.communicate(timeout=520) for w in workers]
        chief_out = chief.communicate(timeout=120)
    finally:
        for p in workers + [chief]:
            if p.poll() is None:
                p.kill()
    for w, (_, err) in zip(workers, outputs):
        assert w.returncode == 0, err[-3000:]
    assert chief.returncode == 0, chief_out[1][-3000:]
    trials = completed_trials(d, "irnn")
    # Each trial ran once: exactly max_trials distinct finished trials.
    assert len(trials) == 4
    assert "Sensitivity" in chief_out[0]
    with open(os.path.join(d, "sensitivity.json")) as f:
        assert json.load(f)["families"]["irnn"]["trials"] == 4
