"""keras-tuner's chief and workers for a study: one rule for roles, and what
happens when a process dies, starts early or joins the wrong study.

keras-tuner runs a distributed search as one chief, which holds the oracle
and serves it over gRPC, and workers, which ask it for trials and train
them. On its own it leaves a trial whose worker died "running" forever,
blocks a worker whose chief is gone in a gRPC call for up to an hour, takes
every id that contains "chief" for a chief, lets two chiefs share a port
(gRPC sets SO_REUSEPORT), and polls for its end every 20 s. Here:

- Roles: a process is in a distributed study when `KERASTUNER_ORACLE_IP`
  is set and is its chief when its `KERASTUNER_TUNER_ID` contains "chief",
  keras-tuner's own test (`dist_utils.is_chief_oracle`); ids on which a
  reader could disagree with that test (`Chief`, `chief2`) are refused
  (`check_tuner_id`), so the chief is the process whose id is `chief`.
- Heartbeats through the study directory, which every process of a study
  shares already (the chief reads the trials' `result.json` there): each
  process holds `processes/<name>.json` (the chief, or a study's single
  process, `chief.json`; a worker its id) and rewrites it every
  `BEAT_SECONDS`. Holding the file is what makes a second chief of the
  study, or a second worker with the same id, refused. A process is gone
  when its heartbeat has not changed for `GONE_SECONDS` by the watcher's
  own clock (machines' clocks need not agree; the margin covers a shared
  file system's caches), and at once when it ran on this machine and its
  process has ended. The directory rather than gRPC: keras-tuner's service
  has no call a worker makes while it trains, and a file also tells a
  worker that starts first whether its chief is up, and needs no port.
- A worker waits for its chief, checks that the chief's `study.json` is its
  own study (`identity.check`) and that the chief listens on its port,
  bounds every call to the chief, and stops within a few seconds, with one
  line, when the chief is gone (`ChiefGone`).
- The chief hands the trial of a worker that is gone to the next worker
  (`PlanOracle.release`), says so, listens on its port alone, and ends
  within `POLL_SECONDS` of its last worker.
- `--jobs N` is a chief on loopback that starts its N workers itself
  (`jobs.Workers`), stops them when it stops, and stops the study when they
  have all ended with trials left. A single process or a chief takes back,
  as it starts, the trials an earlier run left running (`release_orphans`).
"""

import contextlib
import dataclasses
import errno
import json
import os
import re
import socket
import sys
import threading
import time
import uuid

from keras_rnninit import _files
from keras_rnninit import _interrupts
from keras_rnninit.tuning import jobs

CHIEF = "chief"
DEFAULT_IP = "127.0.0.1"
DEFAULT_PORT = 8000
PROCESSES = "processes"
BEAT_SECONDS = 1.0
GONE_SECONDS = 60.0
# A call to the chief waits this long for an answer, then checks that the
# chief is still there, and gives up after ANSWER_SECONDS without one.
ATTEMPT_SECONDS = 2.0
ANSWER_SECONDS = 60.0
# A worker told to wait (the trials left run elsewhere) asks again after.
IDLE_SECONDS = 1.0
POLL_SECONDS = 0.2
_WORKER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


class DistributedError(ValueError):
    """This process cannot take part in the distributed study: one line."""


class ChiefGone(_interrupts.Aborted):
    """A worker's chief is gone: the worker stops."""


def _say(line):
    print(line, file=sys.stderr, flush=True)


# -- roles ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Role:
    """This process's part in a keras-tuner distributed study."""

    tuner_id: str
    ip: str
    port: int

    @property
    def is_chief(self):
        return self.tuner_id == CHIEF

    @property
    def address(self):
        return f"{self.ip}:{self.port}"


def check_tuner_id(tuner_id, source="--tuner-id"):
    """Raises `DistributedError` unless `tuner_id` is `chief` or a worker id
    that keras-tuner, too, takes for a worker's: no `chief` in it, in any
    case, and only letters, digits, `_`, `.` and `-` (it names files)."""
    if tuner_id == CHIEF:
        return
    if CHIEF in tuner_id.lower():
        rule = ("the chief's id is exactly 'chief', and a worker's must not "
                "contain 'chief' in any case (keras-tuner takes every id "
                "containing 'chief' for a chief), e.g. tuner0.")
        if tuner_id.strip().lower() == CHIEF:
            rule = f"did you mean 'chief'? The{rule[3:]}"
        raise DistributedError(f"{source} {tuner_id!r}: {rule}")
    if not _WORKER_ID.match(tuner_id):
        raise DistributedError(
            f"{source} {tuner_id!r}: a worker's id is letters, digits, '_', '.' "
            "and '-' (it names the worker's files), e.g. tuner0.")


def _port(text, source):
    try:
        port = int(str(text).strip())
    except ValueError:
        port = None
    if port is None or not 1 <= port <= 65535:
        raise DistributedError(f"{source} must be a port number, 1 to 65535. "
                               f"Received: {text!r}")
    return port


def role(environ=None):
    """This process's `Role` from the environment, or None outside a
    distributed study.

    The rule is keras-tuner's: distributed when `KERASTUNER_ORACLE_IP` is
    set, then `KERASTUNER_ORACLE_PORT` and `KERASTUNER_TUNER_ID` are needed,
    and the chief is the process whose id contains "chief" (which
    `check_tuner_id` makes the process whose id is `chief`).

    Raises:
        DistributedError: a variable is missing or malformed.
    """
    environ = os.environ if environ is None else environ
    if "KERASTUNER_ORACLE_IP" not in environ:
        return None
    for name in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID"):
        if name not in environ:
            raise DistributedError(
                f"KERASTUNER_ORACLE_IP is set but {name} is not: every process "
                "of a distributed study needs the chief's port and an id "
                "(--oracle-port, --tuner-id).")
    ip = environ["KERASTUNER_ORACLE_IP"].strip()
    if not ip:
        raise DistributedError("KERASTUNER_ORACLE_IP is empty: give the chief's "
                               "address (--oracle-ip).")
    tuner_id = environ["KERASTUNER_TUNER_ID"]
    check_tuner_id(tuner_id, "KERASTUNER_TUNER_ID")
    return Role(tuner_id, ip, _port(environ["KERASTUNER_ORACLE_PORT"],
                                    "KERASTUNER_ORACLE_PORT"))


def environment(args, environ=None):
    """The `KERASTUNER_*` variables that the flags `--tuner-id`,
    `--oracle-ip` and `--oracle-port` set over `environ` (the flags win;
    the address defaults to 127.0.0.1:8000)."""
    environ = os.environ if environ is None else environ
    if args.tuner_id is None and args.oracle_ip is None and args.oracle_port is None:
        return {}
    if args.tuner_id is not None:
        check_tuner_id(args.tuner_id)
    tuner_id = args.tuner_id or environ.get("KERASTUNER_TUNER_ID")
    if tuner_id is None:
        raise DistributedError("--oracle-ip and --oracle-port are for a "
                               "distributed study: give --tuner-id too (chief, "
                               "or a worker's id such as tuner0).")
    port = args.oracle_port
    if port is None:
        port = environ.get("KERASTUNER_ORACLE_PORT", DEFAULT_PORT)
    return {
        "KERASTUNER_TUNER_ID": tuner_id,
        "KERASTUNER_ORACLE_IP": args.oracle_ip or environ.get(
            "KERASTUNER_ORACLE_IP", DEFAULT_IP),
        "KERASTUNER_ORACLE_PORT": str(port),
    }


def check_tf_config(text):
    """Raises `DistributedError` when `TF_CONFIG` (tf.distribute's cluster)
    is set but is not a JSON object."""
    if text is None or not text.strip():
        return
    example = ('e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
               '"task": {"type": "worker", "index": 0}}')
    shown = text if len(text) <= 60 else text[:57] + "..."
    try:
        config = json.loads(text)
    except ValueError as e:
        raise DistributedError(
            f"TF_CONFIG is not valid JSON ({e.msg} at character {e.pos}): "
            f"{shown!r}; it describes a tf.distribute cluster, {example}.") from None
    if not isinstance(config, dict):
        raise DistributedError(f"TF_CONFIG must be a JSON object, {example}. "
                               f"Received: {shown!r}")


def check_port(role):
    """Raises `DistributedError` unless the chief can listen on its port:
    another chief there would take half of this study's calls."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            role.ip, role.port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(address)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise DistributedError(
                f"port {role.port} on {role.ip} is in use (another study's "
                "chief?): give this study's chief and its workers another "
                "--oracle-port.") from None
        raise DistributedError(
            f"the chief cannot listen on {role.address} "
            f"({e.strerror or e}): --oracle-ip must be an address of this "
            "machine.") from None


def check_arguments(args):
    """Checks the distributed flags, the `KERASTUNER_*` variables and
    `TF_CONFIG` before any backend starts; for a chief, that its port is
    free. Returns the `Role` the run will have, or None.

    Raises:
        DistributedError: one line naming the problem.
    """
    variables = environment(args)
    current = role({**os.environ, **variables})
    check_tf_config(os.environ.get("TF_CONFIG"))
    if current is not None and current.is_chief:
        check_port(current)
    _check_jobs(args, current)
    return current


def _check_jobs(args, current):
    """`--jobs auto` is 1 where trials cannot each have a process of their
    own; a count above 1 there is refused."""
    other = ("--tuner-id (or KERASTUNER_*): --jobs starts its own chief and "
             "workers" if current is not None else
             "--cpu-replicas: it splits this CPU for each trial"
             if getattr(args, "cpu_replicas", None) else
             f"--strategy {args.strategy}: it spreads each trial over the "
             "devices" if getattr(args, "strategy", "auto") not in (
                 "auto", "default") else None)
    requested = getattr(args, "jobs", 1)
    if jobs.is_job():  # one of the jobs: --jobs is its parent's
        args.jobs = 1
        return
    if other is None or requested == 1:
        return
    if requested != jobs.AUTO:
        raise DistributedError(f"--jobs {requested} does not go with {other}; "
                               "give one or the other.")
    args.jobs = 1


# -- processes and their heartbeats -----------------------------------------


def _namespace():
    """This machine's process-id namespace, or None: a process id means the
    same process only inside one."""
    try:
        st = os.stat("/proc/self/ns/pid")
    except OSError:
        return None
    return f"{st.st_dev}:{st.st_ino}"


def _stat(pid):
    """`(state, start time)` of process `pid` from /proc, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def this_process():
    """What identifies this process in a heartbeat."""
    pid = os.getpid()
    stat = _stat(pid)
    return {"host": socket.gethostname(), "namespace": _namespace(), "pid": pid,
            "started": stat[1] if stat else None}


def ended(record):
    """Whether the process of a heartbeat `record` has ended: True or False
    for a process of this machine, None for another machine's."""
    namespace = _namespace()
    if (namespace is None or record.get("host") != socket.gethostname()
            or record.get("namespace") != namespace):
        return None
    pid = record.get("pid")
    if not isinstance(pid, int):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    stat = _stat(pid)
    if stat is None:
        return False
    state, started = stat
    return state in ("Z", "X") or (record.get("started") not in (None, started))


def _read(path):
    try:
        with open(path) as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None  # absent, or caught while it is written
    return record if isinstance(record, dict) else None


def _who(record):
    return f"process {record.get('pid')} on {record.get('host')}"


class Watch:
    """Tells whether the processes of a study are there, from their
    heartbeats in `<directory>/processes`.

    Args:
        directory: the study directory.
        gone_seconds: how long a heartbeat that does not change (or a file
            that is missing) means gone, for a process of another machine.
    """

    def __init__(self, directory, gone_seconds=GONE_SECONDS):
        self.directory = directory
        self.gone_seconds = gone_seconds
        self._changed = {}  # name -> (what was read, when it last changed)

    def path(self, name):
        return os.path.join(self.directory, PROCESSES, f"{name}.json")

    def check(self, name):
        """`(record, gone)`: the last heartbeat of `name` (None if there is
        none) and why its process is gone, or None while it is there (a
        missing heartbeat is gone after `gone_seconds`)."""
        record = _read(self.path(name))
        now = time.monotonic()
        seen = None if record is None else (record.get("token"), record.get("beat"))
        last = self._changed.get(name)
        if last is None or last[0] != seen:
            self._changed[name] = last = (seen, now)
        silent = now - last[1]
        if record is not None and ended(record):
            return record, f"its {_who(record)} ended"
        if silent >= self.gone_seconds:
            return record, f"no heartbeat for {silent:.0f} s"
        return record, None


class Heartbeat:
    """This process's heartbeat file, `<directory>/processes/<name>.json`,
    rewritten every `BEAT_SECONDS` by a thread.

    Args:
        directory: the study directory.
        name: `chief` (the chief, or a study's single process) or a
            worker's id.
        **fields: what the file also says (`role`, `address`, `state`).
    """

    def __init__(self, directory, name, **fields):
        self.path = os.path.join(directory, PROCESSES, f"{name}.json")
        self.record = {"name": name, **this_process(), "token": uuid.uuid4().hex,
                       "beat": 0, "state": "starting", **fields}
        self.on_beat = None  # called after every beat, in the thread
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None

    def claim(self, watch, refusal):
        """Writes the file if no other running process holds `name`, and
        starts beating; else raises `DistributedError(refusal(record))`.

        A holder on another machine is judged by whether its heartbeat
        changes, which can take up to `watch.gone_seconds`.
        """
        name, announced, first, torn = self.record["name"], False, None, 0
        while True:
            try:
                self._write(exclusive=True)
                break
            except FileExistsError:
                pass
            except OSError as e:
                raise DistributedError(
                    f"cannot write {self.path}: {e.strerror or e}.") from None
            record, gone = watch.check(name)
            if record is None and torn < 20:  # caught while written: look again
                torn += 1
                time.sleep(0.05)
                continue
            if record is None:  # unreadable for a second: no process writes it
                self._write()
                break
            mine = record.get("pid") == os.getpid() and ended(record) is False
            if gone or mine:  # a dead holder, or this process's own old file
                self._write()
                break
            first = first or (record.get("token"), record.get("beat"))
            if ended(record) is False or first != (record.get("token"),
                                                    record.get("beat")):
                raise DistributedError(refusal(record))
            if not announced:
                _say(f"{name}: {self.path} is held by {_who(record)}; checking "
                     f"whether it still runs (up to {watch.gone_seconds:.0f} s).")
                announced = True
            time.sleep(BEAT_SECONDS)
        self._thread = threading.Thread(target=self._beat, daemon=True,
                                        name=f"heartbeat {name}")
        self._thread.start()

    def _write(self, exclusive=False):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        text = json.dumps(self.record)
        if exclusive:  # fails if the file exists: one holder at a time
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "w") as f:
                f.write(text)
            return
        with _files.written_whole(self.path, tag=self.record["token"]) as temporary:
            with open(temporary, "w") as f:
                f.write(text)

    def _beat(self):
        while not self._stop.wait(BEAT_SECONDS):
            holder = _read(self.path)
            if holder is not None and holder.get("token") != self.record["token"]:
                _interrupts.request_stop(_interrupts.Aborted(
                    f"{self.record['name']}: {self.path} was taken over by "
                    f"{_who(holder)}, which now runs in its place."))
                return
            self.update()
            if self.on_beat is not None:
                self.on_beat()

    def update(self, **fields):
        """Writes the next beat, with `fields` changed."""
        with self._lock:
            self.record.update(fields)
            self.record["beat"] += 1
            with contextlib.suppress(OSError):  # a full disk: beat again later
                self._write()

    def close(self, state=None):
        """Stops beating; leaves the file with `state` (e.g. "finished"), or
        removes it."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        holder = _read(self.path)
        if holder is not None and holder.get("token") != self.record["token"]:
            return
        with contextlib.suppress(OSError):
            if state is None:
                os.remove(self.path)
                os.rmdir(os.path.dirname(self.path))  # if no other is left
            else:
                self.update(state=state)


# -- the parts a process takes ----------------------------------------------


class Alone:
    """A study run by this process alone: it holds the study directory, so
    that no other run (single or chief) runs the study at the same time."""

    is_worker = False
    role_name = "single"

    def __init__(self, directory, role=None):
        self.directory = directory
        self.role = role
        self.watch = Watch(directory)
        self.heartbeat = Heartbeat(directory, self.name, role=self.role_name,
                                   **self._fields())

    @property
    def name(self):
        return CHIEF

    def _fields(self):
        return {}

    def claim(self):
        self.heartbeat.claim(self.watch, self._refusal)

    def _refusal(self, record):
        what = ("a chief of this study" if record.get("role") == "chief"
                else "another run of this study")
        return (f"{self.directory} is in use by {what} ({_who(record)}): wait "
                "for it to end or stop it, or choose another --directory.")

    def search(self, tuner):
        tuner.search(verbose=0)

    def release_orphans(self, oracle):
        """Takes back the trials that an earlier run left running: those
        whose process is gone (this run's workers have not asked yet)."""
        for tuner_id in sorted(oracle.workers()):
            record, gone = self.watch.check(tuner_id)
            if record is None or gone:
                oracle.release(tuner_id)

    def close(self, finished):
        self.heartbeat.close()


class Chief(Alone):
    """The chief of a distributed study: serves the plan to the workers.

    Args:
        directory: the study directory.
        role: its `Role`.
        workers: `jobs.Workers` it starts and stops (`--jobs`), or None
            when the workers are started by hand.
    """

    role_name = "chief"

    def __init__(self, directory, role=None, workers=None):
        super().__init__(directory, role)
        self.workers = workers

    def _fields(self):
        return {"address": self.role.address, "port": self.role.port}

    def claim(self):
        super().claim()
        if self.workers is not None:
            # Their imports overlap with this process's preparing the study.
            self.workers.start()

    def search(self, tuner):
        """Serves `tuner`'s oracle until every planned trial has run and
        every worker has been told to stop (or is gone)."""
        from concurrent import futures

        import grpc

        # keras-tuner's own servicer and protocol: its workers speak it.
        from keras_tuner.src import protos
        from keras_tuner.src.distribute import oracle_chief

        oracle = tuner.oracle
        oracle.verbose = 0  # keras-tuner prints a table per trial otherwise
        tuner.save()
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=1),
                             options=[("grpc.so_reuseport", 0)])
        servicer = oracle_chief.OracleServicer(oracle)
        protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
        try:
            bound = server.add_insecure_port(self.role.address)
        except RuntimeError:
            bound = 0
        if not bound:
            check_port(self.role)  # says why
            raise DistributedError(f"the chief cannot listen on {self.role.address}.")
        server.start()
        self.heartbeat.update(state="serving")
        left = oracle.outstanding()
        if self.workers is None:
            _say(f"chief: serving {left} trial{'s' * (left != 1)} of "
                 f"{self.directory} at {self.role.address}; start each worker "
                 "with the same command and its own --tuner-id (tuner0, "
                 "tuner1, ...).")
        self._had_workers = self._alone = False
        next_sweep = 0.0
        try:
            while not ((servicer.stop_triggered or oracle.outstanding() == 0)
                       and oracle_chief.exit_chief(oracle)):
                time.sleep(POLL_SECONDS)
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + BEAT_SECONDS
                    self._sweep(oracle)
                    self._check_workers(oracle)
        finally:
            server.stop(grace=None)

    def _check_workers(self, oracle):
        """Stops the study when every worker it started has ended with trials
        left (all died, or failed before their first trial)."""
        code = None if self.workers is None else self.workers.failed()
        left = oracle.outstanding()
        if code is None or not left:
            return
        raise DistributedError(
            f"every job has ended, the last with exit code {code}, and "
            f"{left} trial{'s are' if left != 1 else ' is'} left (see the "
            "lines above); rerun the same command to resume.")

    def _sweep(self, oracle):
        """Takes back the trials of workers that are gone."""
        alive = 0
        for tuner_id in sorted(oracle.workers()):
            _, gone = self.watch.check(tuner_id)
            if gone is None:
                alive += 1
                self._had_workers = True
                continue
            trial, completed = oracle.release(tuner_id)
            fate = "" if trial is None else (
                f"; its trial {trial.trial_id} had finished and is completed "
                "from its result.json" if completed else
                f"; its trial {trial.trial_id} goes to the next worker")
            _say(f"chief: worker {tuner_id} is gone ({gone}){fate}.")
        left = oracle.outstanding()
        if alive or not left:
            self._alone = False
        elif self._had_workers and not self._alone and self.workers is None:
            self._alone = True
            _say(f"chief: no worker is running and {left} trial"
                 f"{'s are' if left != 1 else ' is'} left: start workers (the "
                 "same command with --tuner-id tuner0, ...) to go on.")

    def close(self, finished):
        if self.workers is not None:
            self.workers.stop(finished)
        self.heartbeat.close(state="finished" if finished else None)


class Worker(Alone):
    """A worker of a distributed study: joins its chief and trains the
    trials it is given."""

    is_worker = True
    role_name = "worker"

    @property
    def name(self):
        return self.role.tuner_id

    def _fields(self):
        return {"address": self.role.address}

    def _refusal(self, record):
        return (f"worker id {self.name!r} is taken by a running worker of "
                f"{self.directory} ({_who(record)}): give each worker its own "
                "--tuner-id.")

    def join(self, check):
        """Waits for the chief to serve, then checks its study.

        Args:
            check: `recorded identity -> warning lines`; raises
                `identity.StudyMismatch` when the chief's study is not this
                worker's.

        Returns:
            Whether there is work: False when the study's chief has
            finished it.

        Raises:
            DistributedError: the chief runs another study, on another
                port, or the directory is run by a single process.
        """
        from keras_rnninit.tuning import identity

        me, waiting = f"worker {self.name}", False
        while True:
            _interrupts.raise_if_received()
            record, gone = self.watch.check(CHIEF)
            if record is not None and record.get("role") == "single" and not gone:
                raise DistributedError(
                    f"{me}: {self.directory} is run by a single process "
                    f"({_who(record)}), not by a chief: a worker cannot join it.")
            if record is not None and record.get("state") == "finished":
                _say(f"{me}: the chief of {self.directory} has finished the "
                     "study; nothing to run.")
                return False
            if record is not None and not gone and record.get("state") == "serving":
                break
            if not waiting and not jobs.is_job():
                _say(f"{me}: waiting for the chief of {self.directory} at "
                     f"{self.role.address} to start.")
                waiting = True
            time.sleep(POLL_SECONDS)
        if record.get("port") != self.role.port:
            raise DistributedError(
                f"{me}: the chief of {self.directory} listens on port "
                f"{record.get('port')}, not {self.role.port}: give the workers "
                "the chief's --oracle-port.")
        stored = _read(os.path.join(self.directory, "study.json")) or {}
        if "identity" not in stored:
            raise DistributedError(f"{me}: the chief of {self.directory} "
                                   "serves, but its study.json records no study.")
        try:
            for line in check(stored["identity"]):
                if not jobs.is_job():  # its chief says it
                    _say(line)
        except identity.StudyMismatch as e:
            reason = str(e).replace(identity.WAYS_OUT, "").strip()
            reason = reason.removeprefix(f"{self.directory} holds a different study: ")
            sides = "; the chief's -> this worker's" if " -> " in reason else ""
            raise DistributedError(
                f"{me} is not running the study of its chief in {self.directory} "
                f"({reason.rstrip('.')}{sides}). Start each worker with the "
                "chief's command and backend; only --tuner-id differs.") from None
        self.chief = record
        if waiting:
            _say(f"{me}: joined the chief at {self.role.address}.")
        self.heartbeat.update(state="working")
        self.heartbeat.on_beat = self._watch_chief
        return True

    def _chief_gone(self):
        record, gone = self.watch.check(CHIEF)
        if gone is None and record is not None and (
                record.get("token") != self.chief.get("token")):
            gone = "it was started again: its trials are no longer this worker's"
        return gone

    def _watch_chief(self):
        gone = self._chief_gone()
        if gone:
            self.heartbeat.on_beat = None
            _interrupts.request_stop(self._gone(gone))

    def _gone(self, why):
        return ChiefGone(f"worker {self.name}: the chief of {self.directory} at "
                         f"{self.role.address} is gone ({why}); the trial "
                         "running here stopped")

    def search(self, tuner):
        # keras-tuner's OracleClient waits up to an hour for each answer.
        tuner.oracle.stub = _BoundedStub(tuner.oracle.stub, self)
        tuner.search(verbose=0)

    def call(self, method, request):
        """`method(request)` on the chief, a few seconds at a time, until it
        answers; raises `ChiefGone` once the chief is gone or has not
        answered for `ANSWER_SECONDS`."""
        import grpc

        start = time.monotonic()
        while True:
            _interrupts.raise_if_received()
            try:
                return method(request, wait_for_ready=True, timeout=ATTEMPT_SECONDS)
            except grpc.RpcError as e:
                if e.code() not in (grpc.StatusCode.UNAVAILABLE,
                                    grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise
            _interrupts.raise_if_received()
            gone = self._chief_gone()
            if gone is None and time.monotonic() - start > ANSWER_SECONDS:
                gone = (f"it runs but has not answered at {self.role.address} "
                        f"for {ANSWER_SECONDS:.0f} s")
            if gone:
                raise self._gone(gone)

    def close(self, finished):
        self.heartbeat.close()


class _BoundedStub:
    """keras-tuner's gRPC stub with every call made by `Worker.call`, and a
    pause after an answer that says to wait (`IDLE`)."""

    def __init__(self, stub, worker):
        self._stub = stub
        self._worker = worker

    def __getattr__(self, name):
        method = getattr(self._stub, name)

        def call(request, **unused):
            response = self._worker.call(method, request)
            if name == "CreateTrial" and _idle(response.trial):
                deadline = time.monotonic() + IDLE_SECONDS
                while time.monotonic() < deadline:
                    _interrupts.raise_if_received()
                    time.sleep(POLL_SECONDS)
            return response

        return call


def _idle(proto):
    import keras_tuner

    return keras_tuner.engine.trial.Trial.from_proto(proto).status == "IDLE"


@contextlib.contextmanager
def take_part(role, directory, workers=None):
    """This process's part in the study in `directory`, held while the
    study runs: `Alone` (role None), `Chief` (with the `workers` it starts,
    if any) or `Worker`.

    Raises:
        DistributedError: another process holds the part (a second chief
            or single run of the study, a worker id in use).
    """
    if role is None:
        part = Alone(directory)
    elif role.is_chief:
        part = Chief(directory, role, workers)
    else:
        part = Worker(directory, role)
    part.claim()
    finished = False
    try:
        yield part
        finished = True
    finally:
        part.close(finished)
