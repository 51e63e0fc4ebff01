import json
import os
import signal
import socket
import subprocess
import sys
import time

import keras
import pytest

from keras_rnninit.tuning import cli
from keras_rnninit.tuning.study import finished_results

BACKEND = keras.backend.backend()
# Resuming after SIGKILL and keras-tuner's chief/worker protocol live in the
# study directory and in keras-tuner, not in the backend: checked once, on
# TensorFlow, to keep the three-backend suite short.
tensorflow_only = pytest.mark.skipif(
    BACKEND != "tensorflow", reason="backend-independent; run on TensorFlow"
)
TINY = [
    "--task", "adding", "--length", "8", "--num-train", "64",
    "--num-validation", "32", "--batch-size", "32", "--units", "8",
    "--learning-rates", "2", "--learning-rate", "1e-3,1e-2", "--seeds", "2",
    "--steps", "20", "--eval-every", "10", "--verbose", "0",
    "--strategy", "default",
]


def run_cli(args, env, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "keras_rnninit.tuning", *args],
        env=env, capture_output=True, text=True, timeout=timeout,
    )


def stored(directory):
    return {(r["candidate"], r["config"], r["seed"]): (r["hyperparameters"], r["value"])
            for r in finished_results(directory)}


def test_help_explains_every_flag_and_lists_the_registries(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for action in cli.search_parser()._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, action.option_strings
    for word in ("--protocol", "--seeds", "--learning-rates", "--model",
                 "--initializers", "rnninit-tune report DIR", "np-tanh",
                 "permuted-mnist", "KERASTUNER_ORACLE_IP"):
        assert word in text


def test_a_registered_task_and_family_appear_in_the_cli(capsys):
    from keras_rnninit import models
    from keras_rnninit import tasks

    def toy(batch_size=32, seed=None):
        """A toy task."""
        return tasks.get("adding", length=4, batch_size=batch_size, seed=seed)

    spec = models.FamilySpec("toy-gru", "a GRU", (),
                             make_layer=lambda units, *a, **k: keras.layers.GRU(units))
    tasks.register("toy-task", toy)
    models.register_family(spec)
    try:
        with pytest.raises(ValueError, match="already registered"):
            tasks.register("toy-task", toy)
        helps = {a.dest: a.help for a in cli.search_parser()._actions}
        assert "toy-task" in helps["task"] and "toy-gru" in helps["families"]
    finally:
        tasks._REGISTRY.pop("toy-task")
        models.FAMILIES.pop("toy-gru")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--families", "irnn,gru-magic"], "unknown family 'gru-magic'"),
        (["--families", "irnn,np-rnm"], "did you mean 'np-rnn'?"),
        (["--task", "sorting"], "unknown task 'sorting'"),
        (["--task", "Adding"], "did you mean 'adding'?"),
        (["--learning-rate", "1e-2,1e-3"], "--learning-rate needs 0 < LOW <= HIGH"),
        (["--seeds", "0"], "argument --seeds: expected an integer >= 1"),
        (["--protocol", "grid"], "unknown protocol 'grid'"),
        (["--optimizer", "adm"], "did you mean 'adam'?"),
        (["--strategy", "tpu"], "tpu"),
        (["--eval-every", "50"], "must not exceed --steps"),
        (["--threshold", "0.5"], "wrong side of the trivial baseline"),
        (["--threshold", "-1"], "-1 can never be reached: val_mse is never below 0"),
        (["--data", "x:y"], "--data goes with --model"),
        (["--model", "x:y"], "--model needs --data"),
    ],
)
def test_bad_flags_exit_2_with_a_clear_error(args, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(TINY + ["--directory", str(tmp_path / "d")] + args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err.splitlines()[0] and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2, err


def test_report_of_a_non_study_directory_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["report", str(tmp_path)])
    assert info.value.code == 2
    assert "study.json is missing" in capsys.readouterr().err


def test_families_study_end_to_end_and_report_rebuild(tmp_path, capsys):
    d = str(tmp_path / "study")
    assert cli.main(TINY + ["--families", "irnn,np-rnn", "--directory", d]) == 0
    out = capsys.readouterr().out
    assert "Sensitivity: adding T=8" in out and "by success (" in out.lower()
    with open(os.path.join(d, "sensitivity.json")) as f:
        report = json.load(f)
    assert report["learning_rates"] == [1e-3, 1e-2]
    for family in ("irnn", "np-rnn"):
        summary = report["candidates"][family]
        assert summary["trials"] == summary["planned"] == 4
        low, high = summary["success_interval"]
        assert 0.0 <= low <= summary["success_fraction"] <= high <= 1.0
    assert len(stored(d)) == 8
    assert report["timing"]["trials"] == 8
    assert 0 < report["timing"]["overhead_fraction"] < 1
    # The report is rebuilt from the directory alone, at another threshold.
    assert cli.main(["report", d, "--threshold", "0.2"]) == 0
    assert os.path.exists(os.path.join(d, "sensitivity_0.2.png"))
    with open(os.path.join(d, "sensitivity_0.2.json")) as f:
        loose = json.load(f)
    assert loose["candidates"]["irnn"]["successes"] >= summary["successes"] * 0


def test_the_paper_optimizer_and_sizes_come_from_the_family(tmp_path, capsys):
    d = str(tmp_path / "study")
    args = [a for a in TINY]
    i = args.index("--units")
    del args[i:i + 2]
    assert cli.main(args + ["--families", "indrnn", "--optimizer", "paper",
                            "--seeds", "1", "--learning-rates", "1",
                            "--directory", d]) == 0
    capsys.readouterr()
    (hp, _), = stored(d).values()
    assert hp["optimizer"] == "adam" and hp["clipvalue"] == 10.0
    with open(os.path.join(d, "sensitivity.json")) as f:
        assert json.load(f)["details"]["indrnn"].startswith("2 x 128")


@tensorflow_only
def test_sigkill_at_two_points_resumes_to_the_uninterrupted_answer(
        tmp_path, subprocess_env):
    args = TINY + ["--families", "irnn,np-rnn", "--learning-rates", "3",
                   "--steps", "30"]
    reference = str(tmp_path / "reference")
    out = run_cli(args + ["--directory", reference], subprocess_env)
    assert out.returncode == 0, out.stderr[-3000:]
    expected = stored(reference)
    assert len(expected) == 12
    d = str(tmp_path / "killed")
    for stop_after in (2, 7):
        process = subprocess.Popen(
            [sys.executable, "-m", "keras_rnninit.tuning", *args, "--directory", d],
            env=subprocess_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 400
        while time.time() < deadline and len(stored(d)) < stop_after:
            if process.poll() is not None:
                break
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert stop_after <= len(stored(d)) < 12, "not interrupted mid-way"
    out = run_cli(args + ["--directory", d], subprocess_env)
    assert out.returncode == 0, out.stderr[-3000:]
    resumed = stored(d)
    assert sorted(resumed) == sorted(expected)
    for key, (hp, value) in expected.items():
        assert resumed[key][0] == hp
        assert resumed[key][1] == pytest.approx(value, rel=1e-4)
    # A different study in the same directory is refused; --overwrite starts over.
    other = run_cli(args + ["--directory", d, "--seeds", "1"], subprocess_env)
    assert other.returncode == 2 and "--overwrite" in other.stderr
    out = run_cli(args + ["--directory", d, "--seeds", "1", "--overwrite"],
                  subprocess_env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert len(stored(d)) == 6


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


QUIET_TUNE = "import sys, keras_rnninit_cli; sys.exit(keras_rnninit_cli.tune())"


@tensorflow_only
def test_chief_and_two_workers_on_loopback(tmp_path, subprocess_env):
    """Workers that start before their chief wait and join it; a second
    worker under a taken id and a worker of another study (--steps) are
    refused with one line, the second before it trains."""
    d = str(tmp_path / "study")
    common = TINY + ["--families", "irnn", "--directory", d,
                     "--oracle-port", str(free_port()), "--timeout", "500"]
    processes = {}

    def start(name, args):
        err = open(tmp_path / f"{name}.err", "w+")
        processes[name] = (subprocess.Popen(
            [sys.executable, "-c", QUIET_TUNE, *args], env=subprocess_env,
            stdout=subprocess.PIPE, stderr=err, text=True), err)

    def stderr(name):
        with open(tmp_path / f"{name}.err") as f:
            return f.read()

    try:
        for name, tuner_id in (("tuner0", "tuner0"), ("again", "tuner0"),
                               ("tuner1", "tuner1")):
            start(name, common + ["--tuner-id", tuner_id])
        start("other", common + ["--tuner-id", "tuner9", "--steps", "30"])
        deadline = time.time() + 300
        while time.time() < deadline and sum(
                "waiting for the chief" in stderr(n) for n in processes) < 3:
            time.sleep(0.2)
        start("chief", common + ["--tuner-id", "chief"])
        outputs = {n: (p.communicate(timeout=520)[0], p.returncode)
                   for n, (p, _) in processes.items()}
    finally:
        for p, err in processes.values():
            if p.poll() is None:
                p.kill()
            err.close()
    refused = [n for n in ("tuner0", "again") if outputs[n][1] == 2]
    assert len(refused) == 1, {n: stderr(n) for n in processes}
    assert stderr(refused[0]).strip() == (
        f"rnninit-tune: error: worker id 'tuner0' is taken by a running worker of "
        f"{d} (process {processes[({'tuner0', 'again'} - set(refused)).pop()][0].pid}"
        f" on {socket.gethostname()}): give each worker its own --tuner-id.")
    assert outputs["other"][1] == 2
    line = stderr("other").strip().splitlines()[-1]
    assert line.startswith(f"rnninit-tune: error: worker tuner9 is not running "
                           f"the study of its chief in {d} (the setting steps "
                           "changed: 20 -> 30;"), line
    assert not os.path.exists(os.path.join(d, "trials", "tuner9.json"))
    for name in ({"tuner0", "again"} - set(refused)) | {"tuner1"}:
        assert outputs[name][1] == 0, stderr(name)[-3000:]
        assert "joined the chief" in stderr(name)
    assert outputs["chief"][1] == 0, stderr("chief")[-3000:]
    # Every planned trial ran exactly once, across the two workers.
    assert len(stored(d)) == 4
    assert "Sensitivity" in outputs["chief"][0]


@tensorflow_only
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupt_stops_cleanly_and_says_how_to_resume(
        signum, code, tmp_path, subprocess_env):
    d = str(tmp_path / "study")
    args = TINY + ["--families", "irnn", "--learning-rates", "4", "--directory", d]
    process = subprocess.Popen(
        [sys.executable, "-m", "keras_rnninit.tuning", *args],
        env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.time() + 300
    while time.time() < deadline and not stored(d) and process.poll() is None:
        time.sleep(0.1)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == code, err[-2000:]
    assert "Traceback" not in err
    saved = len(stored(d))
    assert f"stopped; {saved} of 8 trials saved in {d}" in err
    command = err.split("To resume: ", 1)[1].strip()
    assert f"KERAS_BACKEND={BACKEND}" in command
    # Pasted into a fresh shell: no KERAS_BACKEND, another directory.
    out = subprocess.run(["bash", "-c", command], cwd="/", capture_output=True,
                         text=True, timeout=600,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert len(stored(d)) == 8


@pytest.mark.skipif(BACKEND == "torch", reason="TensorFlow's lines are the same "
                    "on JAX and PyTorch; run on JAX and on TensorFlow")
@pytest.mark.parametrize("command", ["tune", "train"])
def test_verbose_0_prints_only_the_results(command, tmp_path, subprocess_env):
    # TensorFlow's start-up log lines (oneDNN, CUDA probes) are dropped, by
    # the installed commands' entry points.
    env = dict(subprocess_env)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    launch = f"import sys, keras_rnninit_cli; sys.exit(keras_rnninit_cli.{command}())"
    if command == "tune":
        argv = ["-c", launch, *TINY, "--families", "irnn",
                "--directory", str(tmp_path / "study")]
    else:
        argv = ["-c", launch, "--task", "adding", "--length", "5",
                "--num-train", "32", "--num-validation", "16", "--num-test",
                "16", "--batch-size", "16", "--units", "4", "--epochs", "1",
                "--family", "irnn", "--quiet", "--output-dir", str(tmp_path / "run")]
    out = subprocess.run([sys.executable, *argv], env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stderr == ""
    lines = out.stdout.splitlines()
    assert not [line for line in lines if "I0000" in line or "oneDNN" in line]
    if command == "tune":
        # The table (two rows of cells per candidate), the verdict, the
        # cost and the three files.
        assert len(lines) <= 20, out.stdout
        assert [line.split()[0] for line in lines[-3:]] == ["json", "markdown", "png"]


# Values no flag may accept: each must give one error line naming the flag and
# exit 2 before any trial runs. Flags whose type is a free string are tried
# with values of the wrong shape for what they hold.
WRONG_VALUES = {
    "int": ["abc", "1.5", "", "1e999"],
    "count": ["0", "-3"],
    "float": ["abc", "nan", "inf", ""],
    "--task": ["sorting", ""],
    "--families": ["gru-magic", "", ",,"],
    "--task-arg": ["foo", "=1", "length"],
    "--learning-rate": ["abc", "1e-1,1e-4", "0,1", "1,2,3", "nan,1"],
    "--space": ["{not json", "[1, 2]"],
    "--clipnorms": ["abc", "-1"],
    "--optimizers": ["adamw-magic"],
    "--oracle-port": ["-1", "70000"],
    "--cpu-replicas": ["0"],
    "--jobs": ["0", "-1", "abc", "", "1.5", "1e999", "autoo"],
    "--direction": ["mx", "MIN"],
    "--protocol": ["grid", ""],
    "--optimizer": ["adm", "adamw"],
    "--strategy": ["mirror"],
}
COUNTS = ("--length", "--num-train", "--num-validation", "--units", "--layers",
          "--learning-rates", "--seeds", "--trials", "--steps", "--eval-every",
          "--batch-size")
FLOATS = ("--baseline", "--clipnorm", "--threshold", "--timeout")
INTS = COUNTS + ("--seed", "--oracle-port", "--cpu-replicas")


def _fuzz_cases():
    cases = []
    for flag in INTS:
        cases += [(flag, v) for v in WRONG_VALUES["int"]]
    for flag in COUNTS:
        cases += [(flag, v) for v in WRONG_VALUES["count"]]
    for flag in FLOATS:
        cases += [(flag, v) for v in WRONG_VALUES["float"]]
    for flag, values in WRONG_VALUES.items():
        if flag.startswith("--"):
            cases += [(flag, v) for v in values]
    return cases


def test_the_fuzzed_flags_cover_every_flag_that_takes_a_value():
    covered = {flag for flag, _ in _fuzz_cases()}
    # Free text, checked where it is used; --model, --data and --initializers
    # with a real user module in test_study.
    free = {"--model", "--data", "--initializers", "--objective", "--directory",
            "--tuner-id", "--oracle-ip"}
    for action in cli.search_parser()._actions:
        if action.option_strings and action.nargs != 0 and not action.choices:
            flag = action.option_strings[-1]
            assert flag in covered | free, flag


@pytest.mark.skipif(BACKEND != "jax",
                    reason="argument checks do not depend on the backend; run once")
@pytest.mark.parametrize("flag, value", _fuzz_cases())
def test_a_wrong_value_of_any_flag_is_one_line_and_exit_2(
        flag, value, tmp_path, capsys, monkeypatch):
    from keras_rnninit.tuning import studies

    def started(*args, **kwargs):
        raise AssertionError(f"{flag} {value!r} was accepted: a study started")

    monkeypatch.setattr(studies, "run_study", started)
    argv = ["--directory", str(tmp_path / "d"), flag, value]
    if flag in ("--space", "--clipnorms", "--optimizers"):
        argv += ["--protocol", "random"]
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    # One line, and at most one more that points to --help.
    assert len(lines) <= 2 and lines[1:] in ([], ["Try 'rnninit-tune --help' for the flags."]), err
    first = lines[0]
    assert first.startswith("rnninit-tune: error:"), err
    assert flag in first or repr(value) in first or value in first, first
