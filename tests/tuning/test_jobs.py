"""`--jobs`: how many processes, what each sees, and a study run N at a time
that is interrupted, loses a worker and resumes with the answer of one
process.

The end-to-end test runs on one backend, JAX: what it checks (the chief on
loopback, the study directory, the oracle's bookkeeping, signals) does not
depend on the backend, and a trial's independence of the process that runs
it is checked on every backend by test_trial_independence.py.
"""

import glob
import json
import os
import signal
import subprocess
import sys
import time

import keras
import pytest
from test_distributed_faults import ongoing as _running_trial

from keras_rnninit.tuning import cli
from keras_rnninit.tuning import jobs

# Eight trials of about a second: long enough to be stopped in the middle.
COMMAND = [
    "--task", "adding", "--length", "8", "--num-train", "64",
    "--num-validation", "32", "--batch-size", "32", "--units", "8",
    "--families", "irnn,np-rnn", "--learning-rates", "2", "--learning-rate",
    "1e-3,1e-2", "--seeds", "2", "--steps", "300", "--eval-every", "20",
    "--strategy", "default",
]
PLANNED = 8


@pytest.mark.parametrize("text, value", [("auto", "auto"), ("AUTO", "auto"),
                                         ("1", 1), ("16", 16)])
def test_jobs_is_a_count_or_auto(text, value):
    assert jobs.parse(text) == value


@pytest.mark.parametrize("text", ["0", "-2", "two", "1.5", ""])
def test_a_bad_jobs_is_one_line(text, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        cli.check_command_line(["--jobs", text, "--directory", str(tmp_path)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert ("argument --jobs: expected a positive integer or 'auto'"
            in err.splitlines()[0]), err
    assert len(err.strip().splitlines()) == 2 and "Traceback" not in err


def test_jobs_above_one_do_not_go_with_a_role_or_a_split_device(tmp_path, capsys):
    directory = ["--directory", str(tmp_path)]
    for extra in (["--tuner-id", "tuner0"], ["--strategy", "mirrored"]):
        with pytest.raises(SystemExit):
            cli.check_command_line(["--jobs", "2", *extra, *directory])
        assert "--jobs 2 does not go with" in capsys.readouterr().err
        # auto is then one process.
        _, args = cli.check_command_line([*extra, *directory])
        assert args.jobs == 1


GIB = 2**30
CPU8 = jobs.Machine(cores=tuple(range(8)), memory=64 * GIB, job_memory=GIB)


def test_auto_is_one_job_per_gpu_each_seeing_its_own():
    plan = jobs.choose("auto", jobs.Machine(gpus=("3", "5"), memory=None))
    assert (plan.jobs, plan.gpus, str(plan)) == (2, ("3", "5"), "2 jobs: one per GPU")
    env = plan.environment(1)
    assert env["CUDA_VISIBLE_DEVICES"] == "5"
    assert env["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    assert env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
    assert str(jobs.choose(4, jobs.Machine(gpus=("0", "1")))) == "4 jobs: on 2 GPUs"
    assert jobs.visible_gpus({"CUDA_VISIBLE_DEVICES": "3,5"}) == ("3", "5")
    assert jobs.visible_gpus({"CUDA_VISIBLE_DEVICES": "0,-1,2"}) == ("0",)
    assert jobs.visible_gpus({"CUDA_VISIBLE_DEVICES": "0",
                              "JAX_PLATFORMS": "cpu"}) == ()


def test_on_cpus_a_job_per_core_with_one_thread_each():
    plan = jobs.choose("auto", CPU8)
    assert str(plan) == "8 jobs x 1 thread"
    env = plan.environment(0)
    assert "--xla_cpu_multi_thread_eigen=false" in env["XLA_FLAGS"]
    assert env["TF_NUM_INTRAOP_THREADS"] == env["OMP_NUM_THREADS"] == "1"
    assert jobs.CORES not in env
    two = jobs.choose(2, CPU8)
    assert str(two) == "2 jobs x 4 threads"
    # Several threads: each job on cores of its own, which XLA sizes its
    # pool by.
    assert [two.environment(i)[jobs.CORES] for i in (0, 1)] == ["0,1,2,3",
                                                                "4,5,6,7"]
    # Never more jobs than trials to run; their cores go to the threads.
    assert str(plan.at_most(3)) == "3 jobs x 2 threads"
    assert plan.at_most(0).jobs == 1
    # auto gives each job enough steps to pay for starting it.
    assert plan.for_study(trials=4, steps=1000).jobs == 2
    assert str(plan.for_study(trials=4, steps=100)) == (
        "1 job (a study this small does not pay for starting more)")
    assert jobs.choose(4, CPU8).for_study(trials=4, steps=100).jobs == 4


def test_auto_starts_no_more_jobs_than_memory_holds():
    def machine(memory, **kwargs):
        return jobs.Machine(**{"cores": tuple(range(8)), "memory": memory,
                               "job_memory": 2 * GIB, **kwargs})

    # Memory for 3 of 8 cores: 3 jobs, the cores shared out as threads, and
    # the line says why.
    plan = jobs.choose("auto", machine(7 * GIB))
    assert (plan.jobs, plan.threads) == (3, 2)
    assert str(plan) == ("3 jobs x 2 threads (memory for 3: 7.0 GiB "
                         "available, about 2.0 GiB a job)")
    assert [plan.environment(i)[jobs.CORES] for i in range(3)] == [
        "0,1", "2,3", "4,5"]
    # Enough memory, or none known: one job per core, nothing said.
    for memory in (16 * GIB, None):
        assert str(jobs.choose("auto", machine(memory))) == "8 jobs x 1 thread"
    # Less than one job's worth still runs the study, in one process.
    assert jobs.choose("auto", machine(GIB)).jobs == 1
    # One job per GPU, as many as memory holds.
    plan = jobs.choose("auto", machine(5 * GIB, gpus=("0", "1", "2", "3")))
    assert plan.gpus == ("0", "1")
    assert str(plan).startswith("2 jobs: one per GPU (memory for 2:")
    # A count is the user's: taken as given.
    assert jobs.choose(6, machine(GIB)).jobs == 6
    # Fewer trials than memory allows jobs: the trials are the limit.
    assert str(jobs.choose("auto", machine(7 * GIB)).at_most(2)) == (
        "2 jobs x 4 threads")


def test_a_tpu_host_is_one_job():
    plan = jobs.choose("auto", jobs.Machine(cores=(0, 1, 2, 3), tpu=True))
    assert str(plan) == "1 job (a TPU host's chips belong to one JAX process)"
    assert jobs.choose(2, jobs.Machine(cores=(0, 1, 2, 3), tpu=True)).jobs == 2


def test_this_machine_is_read_without_a_backend():
    before = jobs._peak_memory()
    machine = jobs.Machine.this()
    after = jobs._peak_memory()
    assert machine.cores and len(machine.cores) == len(set(machine.cores))
    # A job is this program again: it needs at least what this one holds.
    assert (max(jobs.JOB_MEMORY, before) <= machine.job_memory
            <= max(jobs.JOB_MEMORY, after))
    if sys.platform.startswith("linux"):
        assert before > 0 and machine.memory > 0


def test_jobs_need_a_program_to_start_again(monkeypatch):
    monkeypatch.setattr(sys, "orig_argv", [sys.executable])
    with pytest.raises(ValueError, match="not from an interactive session"):
        jobs.this_program()
    monkeypatch.setattr(sys, "orig_argv", ["python3", "my_study.py", "--fast"])
    assert jobs.this_program() == [sys.executable, "my_study.py", "--fast"]


def _results(directory):
    out = {}
    for path in glob.glob(os.path.join(directory, "trials", "trial_*", "result.json")):
        with open(path) as f:
            r = json.load(f)
        key = (r["candidate"], r["config"], r["seed"])
        assert key not in out, f"{key} ran twice"
        out[key] = (r["value"], r["initial"], r["curve"])
    return out


def _jobs_of(parent):
    """The pids of the running processes started as jobs of `parent`."""
    found = []
    for path in glob.glob("/proc/[0-9]*/environ"):
        try:
            with open(path, "rb") as f:
                environ = f.read().split(b"\0")
        except OSError:
            continue
        if f"{jobs.PARENT}={parent}".encode() in environ:
            found.append(int(path.split("/")[2]))
    return found


def _heartbeat_pid(directory, name):
    try:
        with open(os.path.join(directory, "processes", f"{name}.json")) as f:
            return json.load(f)["pid"]
    except (OSError, ValueError, KeyError):
        return None


def _wait_for(condition, process, err, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        assert process.poll() is None, open(err).read()[-3000:]
        time.sleep(0.05)
    raise AssertionError(f"timed out: {open(err).read()[-3000:]}")


@pytest.mark.slow
@pytest.mark.skipif(keras.backend.backend() != "jax",
                    reason="backend-independent; run once, on JAX")
def test_two_jobs_lose_a_worker_stop_on_ctrl_c_and_resume_to_one_process_answer(
        tmp_path, subprocess_env, capsys):
    d = str(tmp_path / "jobs")
    command = [sys.executable, "-m", "keras_rnninit.tuning", *COMMAND,
               "--timeout", "300", "--directory", d]
    out, err = str(tmp_path / "out"), str(tmp_path / "err")
    with open(out, "w") as o, open(err, "w") as e:
        # Its own session: the process group a terminal's Ctrl-C reaches.
        parent = subprocess.Popen(command + ["--jobs", "2"], env=subprocess_env,
                                  stdout=o, stderr=e, start_new_session=True)
    try:
        # A worker dies with SIGKILL in the middle of a trial: the other
        # worker runs that trial.
        orphan = _wait_for(lambda: _running_trial(d, "job1"), parent, err)
        os.kill(_heartbeat_pid(d, "job1"), signal.SIGKILL)
        _wait_for(lambda: os.path.exists(os.path.join(
            d, "trials", f"trial_{orphan}", "result.json")), parent, err)
        assert f"its trial {orphan} goes to the next worker" in open(err).read()
        # Ctrl-C, as a terminal sends it: to the whole process group.
        _wait_for(lambda: _running_trial(d, "job0"), parent, err)
        os.killpg(parent.pid, signal.SIGINT)
        assert parent.wait(timeout=30) == 130
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)
    time.sleep(0.5)
    assert _jobs_of(parent.pid) == []
    lines = open(err).read().strip().splitlines()
    assert "Traceback" not in open(err).read()
    stopped = [line for line in lines if "stopped;" in line]
    assert len(stopped) == 1 and lines[-1] == stopped[0], lines
    saved = len(_results(d))
    assert 0 < saved < PLANNED
    assert f"{saved} of {PLANNED} trials saved in {d}. To resume: " in lines[-1]
    # Resumed with the same command, and run in one process for reference.
    resumed = subprocess.run(command + ["--jobs", "2"], env=subprocess_env,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    first = resumed.stdout.splitlines()[0]
    assert first == "2 jobs x 1 thread", resumed.stdout
    progress = [line.split("]")[0] for line in resumed.stdout.splitlines()
                if line.startswith("[")]
    assert progress == [f"[{k}/{PLANNED}" for k in range(saved + 1, PLANNED + 1)]
    assert cli.main(COMMAND + ["--jobs", "1", "--directory",
                               str(tmp_path / "single")]) == 0
    assert "job" not in capsys.readouterr().out.splitlines()[0]
    reference = _results(str(tmp_path / "single"))
    assert len(reference) == PLANNED
    assert _results(d) == reference
    with open(os.path.join(d, "sensitivity.json")) as f:
        report = json.load(f)
    with open(os.path.join(tmp_path, "single", "sensitivity.json")) as f:
        expected = json.load(f)
    for r in (report, expected):
        r.pop("timing"), r.pop("directory")
    assert report == expected


def test_a_job_holds_tf_data_to_its_threads(monkeypatch):
    import numpy as np
    import tensorflow as tf

    def data(seed):
        x = np.zeros((4, 2), "float32")
        return tf.data.Dataset.from_tensor_slices((x, x)).batch(2), (x, x)

    assert jobs.with_threads(data) is data  # outside a job
    monkeypatch.setenv(jobs.THREADS, "1")
    train, validation = jobs.with_threads(data)(0)
    # A trial repeats its training set: the options go along.
    threading = train.repeat().options().threading
    assert (threading.private_threadpool_size,
            threading.max_intra_op_parallelism) == (1, 1)
    assert validation[0].shape == (4, 2)
