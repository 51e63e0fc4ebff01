"""`--jobs`: a study's trials N at a time on this machine.

A study with N jobs is a keras-tuner distributed study on loopback: this
process is its chief (`distributed.Chief`) and starts N workers, each this
program again with a worker's role in its environment. So the trials are
claimed, run, recorded and reissued exactly as with a chief and workers
started by hand; this module only decides how many processes, what each sees
of the machine, and that none outlives its parent.

- CPUs: one process per core, each with one thread (XLA, TensorFlow's
  intra- and inter-op pools, torch, tf.data): a small recurrent model's step
  does not keep two cores busy, and threads that share cores with other
  processes only wait on each other. With fewer jobs than cores, each keeps
  to cores of its own (`sched_setaffinity`), by which XLA sizes its pool.
- GPUs: one process per visible GPU, each seeing only its own
  (`CUDA_VISIBLE_DEVICES`) and growing its memory as it needs it.
- A TPU host: one process. JAX gives a host's TPU chips to one process;
  splitting them takes per-process chip bounds (`TPU_VISIBLE_CHIPS`), which
  are not set here.
- Memory: `auto` starts no more jobs than the memory available holds, at
  `JOB_MEMORY` each (or what this process has used, if more: a job is this
  program again).
"""

import contextlib
import dataclasses
import glob
import os
import signal
import socket
import subprocess
import sys
import time

AUTO = "auto"
# Set in the environment of each worker this module starts: its number.
JOB = "RNNINIT_JOB"
THREADS = "RNNINIT_JOB_THREADS"
CORES = "RNNINIT_JOB_CORES"
PARENT = "RNNINIT_JOB_PARENT"
# What each process of a study on GPUs is given: its memory grows with use.
NO_MEMORY_GRAB = {"TF_FORCE_GPU_ALLOW_GROWTH": "true",
                  "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
ONE_THREAD_XLA = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
# `auto` starts a job only for this many training steps or more: a process
# takes seconds to start (imports, first compile), a small model's step
# milliseconds.
STEPS_PER_JOB = 2000
# What one job needs, at least: a job of a one-trial adding study (T=100)
# peaked at 0.84 GiB on TensorFlow, 1.0 GiB on JAX and 1.1 GiB on PyTorch
# (measured here, Keras 3.15.1, CPU).
JOB_MEMORY = int(1.2 * 2**30)
# A worker still running this long after it was asked to stop is killed.
STOP_SECONDS = 5.0
# How long workers of a finished study have to end on their own.
GRACE_SECONDS = 30.0


def parse(text):
    """`--jobs`: a positive integer or `auto`; raises `ValueError` with the
    reason otherwise."""
    if str(text).strip().lower() == AUTO:
        return AUTO
    try:
        value = int(text)
    except (TypeError, ValueError):
        value = 0
    if value < 1 or isinstance(text, bool):
        raise ValueError(f"expected a positive integer or 'auto', got {text!r}")
    return value


@dataclasses.dataclass(frozen=True)
class Machine:
    """What a study's jobs share: this machine's (`Machine.this()`), or
    given.

    Args:
        cores: the ids of the cores this process may run on.
        gpus: the GPUs it may use, as `CUDA_VISIBLE_DEVICES` entries.
        tpu: whether it is a TPU host.
        memory: bytes of memory available, or None if unknown.
        job_memory: bytes one job needs.
    """

    cores: tuple = (0,)
    gpus: tuple = ()
    tpu: bool = False
    memory: int = None
    job_memory: int = JOB_MEMORY

    @classmethod
    def this(cls, environ=None):
        """This machine, found without starting a backend."""
        try:
            cores = tuple(sorted(os.sched_getaffinity(0)))
        except AttributeError:  # not Linux
            cores = tuple(range(os.cpu_count() or 1))
        return cls(cores=cores, gpus=visible_gpus(environ),
                   tpu=bool(glob.glob("/dev/accel[0-9]*")
                            or glob.glob("/dev/vfio/[0-9]*")),
                   memory=available_memory(),
                   job_memory=max(JOB_MEMORY, _peak_memory()))


@dataclasses.dataclass(frozen=True)
class Plan:
    """How a study's trials share this machine.

    Args:
        jobs: processes that train trials.
        threads: threads each of them uses on CPU (None: the backend's own).
        cores: the cores they share on CPU, in order.
        gpus: the GPU each job sees, in job order; empty on CPU.
        note: why, when it is not the plain count (a TPU host, memory).
        auto: whether it was chosen for this machine (`--jobs auto`).
    """

    jobs: int
    threads: int = None
    cores: tuple = ()
    gpus: tuple = ()
    note: str = ""
    auto: bool = False

    def __str__(self):
        count = f"{self.jobs} job{'s' * (self.jobs != 1)}"
        if self.gpus:
            gpus = len(set(self.gpus))
            count += (": one per GPU" if gpus == self.jobs else
                      f": on {gpus} GPU{'s' * (gpus != 1)}")
        elif self.threads and self.jobs > 1:
            count += f" x {self.threads} thread{'s' * (self.threads != 1)}"
        return count + (f" ({self.note})" if self.note else "")

    def for_study(self, trials, steps):
        """This plan for `trials` to run of at most `steps` steps each: no
        more jobs than trials, and for `auto`, no more than give each job
        `STEPS_PER_JOB` steps to run."""
        plan = self.at_most(trials)
        if self.auto and trials * steps // STEPS_PER_JOB < plan.jobs:
            plan = dataclasses.replace(
                plan.at_most(trials * steps // STEPS_PER_JOB),
                note="a study this small does not pay for starting more")
        return plan

    def at_most(self, trials):
        """This plan with no more jobs than `trials` (at least 1)."""
        jobs = max(1, min(self.jobs, trials))
        if jobs == self.jobs:
            return self
        threads = self.threads and max(1, len(self.cores) // jobs)
        return dataclasses.replace(self, jobs=jobs, threads=threads,
                                   gpus=self.gpus[:jobs], note="")

    def environment(self, index):
        """The variables job `index` starts with: its devices and threads."""
        if self.gpus:
            return {**NO_MEMORY_GRAB, "CUDA_VISIBLE_DEVICES": self.gpus[index]}
        env = {"TF_NUM_INTRAOP_THREADS": str(self.threads),
               "TF_NUM_INTEROP_THREADS": "1",
               "OMP_NUM_THREADS": str(self.threads),
               THREADS: str(self.threads)}
        if self.threads == 1:
            flags = os.environ.get("XLA_FLAGS", "")
            env["XLA_FLAGS"] = f"{flags} {ONE_THREAD_XLA}".strip()
        else:  # XLA sizes its pool by the cores a process may run on
            cores = self.cores[index * self.threads:(index + 1) * self.threads]
            env[CORES] = ",".join(map(str, cores))
        return env


def visible_gpus(environ=None):
    """The NVIDIA GPUs this process may use, as `CUDA_VISIBLE_DEVICES`
    entries, found without starting a backend."""
    environ = os.environ if environ is None else environ
    if environ.get("JAX_PLATFORMS", "").strip().lower() == "cpu":
        return ()
    listed = environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        ids = tuple(i.strip() for i in listed.split(",") if i.strip())
        # CUDA stops at the first invalid entry ("-1" hides every GPU).
        valid = []
        for i in ids:
            if i.startswith("-"):
                break
            valid.append(i)
        return tuple(valid)
    count = len(glob.glob("/proc/driver/nvidia/gpus/*"))
    return tuple(str(i) for i in range(count))


def available_memory():
    """Bytes of memory that new processes can use without swapping (Linux's
    `MemAvailable`), or None where it is not known. A container's own
    limit (cgroup) is not read."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _peak_memory():
    """The most memory this process has held, in bytes (0 if unknown)."""
    try:
        import resource
    except ImportError:  # not Unix
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # KiB on Linux


def _gib(size):
    return f"{size / 2**30:.1f} GiB"


def choose(requested, machine=None):
    """The `Plan` for `--jobs requested` (a count or `auto`) on `machine`
    (default: this one).

    `auto` is one job per GPU, else one per core (one on a TPU host), and
    never more than the memory available holds; a count is taken as given.
    """
    machine = machine or Machine.this()
    auto = requested == AUTO
    if auto and machine.tpu and not machine.gpus:
        return Plan(1, note="a TPU host's chips belong to one JAX process",
                    auto=auto)
    jobs = (len(machine.gpus) or len(machine.cores)) if auto else requested
    note = ""
    if auto and machine.memory is not None:
        fits = max(1, machine.memory // machine.job_memory)
        if fits < jobs:
            jobs, note = fits, (f"memory for {fits}: {_gib(machine.memory)} "
                                f"available, about {_gib(machine.job_memory)} "
                                "a job")
    if machine.gpus:
        gpus = machine.gpus
        return Plan(jobs, gpus=tuple(gpus[i % len(gpus)] for i in range(jobs)),
                    note=note, auto=auto)
    return Plan(jobs, threads=max(1, len(machine.cores) // jobs),
                cores=tuple(machine.cores), note=note, auto=auto)


def with_threads(data):
    """`data` (`seed -> (train, validation)`) with tf.data's pool held to
    the job's threads in its training datasets (`data` itself outside a
    job)."""
    threads = os.environ.get(THREADS)
    if not threads:
        return data

    def limited(seed):
        train, validation = data(seed)
        if not hasattr(train, "with_options"):
            return train, validation
        import tensorflow as tf

        options = tf.data.Options()
        options.threading.private_threadpool_size = int(threads)
        options.threading.max_intra_op_parallelism = 1
        return train.with_options(options), validation

    return limited


def is_job():
    """Whether this process is a worker started by `Workers`."""
    return JOB in os.environ


def this_program():
    """The command that started this process, to start it again as a
    worker; raises `ValueError` when it cannot be (an interactive session
    or a notebook has no command to rerun)."""
    argv = list(getattr(sys, "orig_argv", []))
    interactive = (sys.flags.interactive or len(argv) < 2
                   or any("ipykernel" in word for word in argv))
    if interactive:
        raise ValueError(
            "jobs > 1 starts this program again in each job: run the study "
            "from a script (python my_study.py) or the rnninit-tune command, "
            "not from an interactive session or a notebook; or use jobs=1.")
    return [sys.executable] + argv[1:]


def free_port(ip="127.0.0.1"):
    """A port of `ip` that nothing listens on now."""
    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


def start_job():
    """Before any trial, in a process given a share of the machine
    (`Plan.environment`): keeps to its cores, when it has several, and to
    its threads where a variable does not reach (torch). In a job, also asks
    Linux for SIGTERM when the parent ends, even by SIGKILL (its trial is
    lost, the finished ones kept), and ends now if the parent is already
    gone. A no-op elsewhere."""
    if os.environ.get(CORES) and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, [int(c) for c in os.environ[CORES].split(",")])
    threads = os.environ.get(THREADS)
    if threads and "torch" in sys.modules:
        import torch

        torch.set_num_threads(int(threads))
        with contextlib.suppress(RuntimeError):  # set once per process
            torch.set_num_interop_threads(1)
    if not is_job():
        return
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if str(os.getppid()) != os.environ.get(PARENT):
        os.kill(os.getpid(), signal.SIGTERM)


class Workers:
    """The N worker processes of a study run with `--jobs N`.

    Each is `command` with the worker role `KERASTUNER_*` for `role`'s
    address and the id `job<i>`, and `plan.environment(i)`. They run in a
    session of their own, so that a Ctrl-C at the terminal reaches this
    process only, which stops them (`stop`); and each gets SIGTERM if this
    process dies (`start_job`). Their standard output is dropped
    (this process prints a line per trial); their standard error is shown.
    """

    def __init__(self, command, plan, role):
        self.command = list(command)
        self.plan = plan
        self.role = role
        self.processes = []

    def start(self):
        for index in range(self.plan.jobs):
            env = {**os.environ, **self.plan.environment(index),
                   "KERASTUNER_TUNER_ID": f"job{index}",
                   "KERASTUNER_ORACLE_IP": self.role.ip,
                   "KERASTUNER_ORACLE_PORT": str(self.role.port),
                   JOB: str(index), PARENT: str(os.getpid())}
            self.processes.append(subprocess.Popen(
                self.command, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, start_new_session=True))

    def failed(self):
        """None while a worker runs or all ended well; else the exit code of
        one that failed, once every worker has ended."""
        codes = [p.poll() for p in self.processes]
        if any(code is None for code in codes):
            return None
        return next((code for code in codes if code != 0), None)

    def stop(self, finished=False):
        """Waits for the workers to end: after the study has `finished`, a
        while for each to leave on its own; else (or then) asks every one
        still running to stop (SIGTERM: it keeps what finished), kills it
        after `STOP_SECONDS`, and waits for all."""
        if finished:
            deadline = time.monotonic() + GRACE_SECONDS
            for p in self.processes:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(timeout=max(0.0, deadline - time.monotonic()))
        for p in self.processes:
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    p.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        for p in self.processes:
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
