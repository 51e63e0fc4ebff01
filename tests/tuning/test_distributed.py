"""Roles, heartbeats and the distributed flags, in one process: keras-tuner's
rule decides chief or worker, a running holder of a role refuses another, a
gone one is replaced, and every bad flag or variable is one line."""

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from keras_rnninit.tuning import cli
from keras_rnninit.tuning import distributed
from keras_rnninit.tuning.distributed import DistributedError


def environ(tuner_id, port="8000"):
    return {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": port,
            "KERASTUNER_TUNER_ID": tuner_id}


@pytest.mark.parametrize("tuner_id", ["chief", "tuner0", "worker-1", "w.2_b"])
def test_chief_or_worker_is_keras_tuners_own_test(tuner_id, monkeypatch):
    from keras_tuner.src.distribute import utils as dist_utils

    for name, value in environ(tuner_id).items():
        monkeypatch.setenv(name, value)
    role = distributed.role()
    assert role.is_chief == dist_utils.is_chief_oracle()
    assert dist_utils.has_chief_oracle()


@pytest.mark.parametrize("tuner_id, says", [
    ("Chief", "did you mean 'chief'?"), ("CHIEF", "did you mean 'chief'?"),
    ("chief2", "exactly 'chief'"), ("mychief", "exactly 'chief'"),
    ("", "letters, digits"), ("tuner 0", "letters, digits"),
    ("../tuner0", "letters, digits"),
])
def test_an_ambiguous_or_unusable_id_is_one_line(tuner_id, says):
    with pytest.raises(DistributedError) as e:
        distributed.role(environ(tuner_id))
    assert says in str(e.value) and repr(tuner_id) in str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("variables, says", [
    ({"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_TUNER_ID": "tuner0"},
     "KERASTUNER_ORACLE_PORT is not"),
    ({"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": "8000"},
     "KERASTUNER_TUNER_ID is not"),
    (environ("tuner0", port="80x"), "KERASTUNER_ORACLE_PORT must be a port"),
    (environ("tuner0", port="0"), "KERASTUNER_ORACLE_PORT must be a port"),
])
def test_a_bad_environment_is_one_line(variables, says):
    with pytest.raises(DistributedError, match=says):
        distributed.role(variables)


def test_outside_a_distributed_study_there_is_no_role():
    assert distributed.role({"KERASTUNER_TUNER_ID": "tuner0"}) is None


@pytest.fixture
def listening():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.mark.parametrize("argv, variables, says", [
    (["--tuner-id", "Chief"], {}, "did you mean 'chief'?"),
    (["--tuner-id", "chief2"], {}, "exactly 'chief'"),
    (["--oracle-port", "9000"], {}, "give --tuner-id too"),
    ([], {"TF_CONFIG": "{bad json"}, "TF_CONFIG is not valid JSON"),
    ([], {"TF_CONFIG": "[1, 2]"}, "TF_CONFIG must be a JSON object"),
    ([], {"KERASTUNER_ORACLE_IP": "127.0.0.1"}, "KERASTUNER_ORACLE_PORT is not"),
    (["--cpu-replicas", "2", "--strategy", "mirrored"],
     {"KERAS_BACKEND": "torch"}, "not available on the torch backend"),
    (["--cpu-replicas", "2"], {"KERAS_BACKEND": "jax"}, "needs"),
    (["--tuner-id", "chief", "--oracle-port", "LISTENING"], {},
     "port LISTENING on 127.0.0.1 is in use"),
])
def test_the_command_line_refuses_at_once_with_one_line(
        argv, variables, says, listening, tmp_path, monkeypatch, capsys):
    for name in ("KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT",
                 "KERASTUNER_TUNER_ID", "TF_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    argv = [str(listening) if a == "LISTENING" else a for a in argv]
    with pytest.raises(SystemExit) as e:
        cli.check_command_line(argv + ["--directory", str(tmp_path / "d")])
    assert e.value.code == 2
    error, hint = capsys.readouterr().err.strip().splitlines()
    assert error.startswith("rnninit-tune: error: ")
    assert says.replace("LISTENING", str(listening)) in error
    assert "--help" in hint


def test_the_flags_set_keras_tuners_variables(monkeypatch):
    monkeypatch.delenv("KERASTUNER_ORACLE_IP", raising=False)
    args = cli.search_parser().parse_args(["--tuner-id", "tuner3",
                                           "--oracle-port", "8123"])
    assert distributed.environment(args) == {
        "KERASTUNER_TUNER_ID": "tuner3", "KERASTUNER_ORACLE_IP": "127.0.0.1",
        "KERASTUNER_ORACLE_PORT": "8123"}


# -- heartbeats --------------------------------------------------------------


def holder(directory, name, pid, **fields):
    """A heartbeat of process `pid` of this machine holding `name`."""
    process = dict(distributed.this_process(), pid=pid,
                   started=distributed._stat(pid)[1] if distributed._stat(pid) else None)
    record = {"name": name, **process, "token": "other", "beat": 0,
              "state": "serving", "role": "chief", **fields}
    os.makedirs(os.path.join(directory, "processes"), exist_ok=True)
    path = os.path.join(directory, "processes", f"{name}.json")
    with open(path, "w") as f:
        json.dump(record, f)
    return path


@pytest.fixture
def sleeper():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait()


def test_a_running_holder_refuses_a_second_chief_or_a_duplicate_worker(
        tmp_path, sleeper):
    d = str(tmp_path)
    holder(d, "chief", sleeper.pid)
    with pytest.raises(DistributedError, match="is in use by a chief of this study"):
        with distributed.take_part(distributed.Role("chief", "127.0.0.1", 1), d):
            pass
    holder(d, "tuner0", sleeper.pid, role="worker")
    with pytest.raises(DistributedError, match="worker id 'tuner0' is taken"):
        with distributed.take_part(distributed.Role("tuner0", "127.0.0.1", 1), d):
            pass


def test_the_holder_of_a_process_that_ended_is_replaced_at_once(tmp_path, sleeper):
    d = str(tmp_path)
    path = holder(d, "chief", sleeper.pid)
    sleeper.kill()
    sleeper.wait()
    with distributed.take_part(None, d) as part:
        with open(path) as f:
            assert json.load(f)["token"] == part.heartbeat.record["token"]
    assert not os.path.exists(path)  # a single run leaves no heartbeat


def test_a_holder_on_another_machine_is_judged_by_its_heartbeat(
        tmp_path, monkeypatch):
    monkeypatch.setattr(distributed, "BEAT_SECONDS", 0.05)
    d = str(tmp_path)
    path = holder(d, "chief", 1, host="elsewhere")
    watch = distributed.Watch(d, gone_seconds=0.5)
    # Silent for gone_seconds: gone, and replaced.
    start = time.monotonic()
    heartbeat = distributed.Heartbeat(d, "chief", role="chief")
    heartbeat.claim(watch, lambda record: "refused")
    assert time.monotonic() - start >= 0.5
    heartbeat.close()
    # Beating: there, and a second holder is refused.
    holder(d, "chief", 1, host="elsewhere")
    stop = threading.Event()

    def beat():
        n = 0
        while not stop.wait(0.02):
            n += 1
            with open(path + ".tmp", "w") as f:
                json.dump({"token": "other", "beat": n, "pid": 1,
                           "host": "elsewhere"}, f)
            os.replace(path + ".tmp", path)

    thread = threading.Thread(target=beat)
    thread.start()
    try:
        with pytest.raises(DistributedError, match="refused"):
            distributed.Heartbeat(d, "chief").claim(
                distributed.Watch(d, gone_seconds=5), lambda record: "refused")
    finally:
        stop.set()
        thread.join()


def test_a_worker_sees_its_chief_go_at_once_on_this_machine(tmp_path, sleeper):
    d = str(tmp_path)
    holder(d, "chief", sleeper.pid)
    watch = distributed.Watch(d)
    assert watch.check("chief")[1] is None
    sleeper.kill()
    sleeper.wait()
    assert "ended" in watch.check("chief")[1]


def test_an_unreadable_heartbeat_is_replaced(tmp_path):
    os.makedirs(tmp_path / "processes")
    (tmp_path / "processes" / "chief.json").write_text('{"pid": ')
    with distributed.take_part(None, str(tmp_path)) as part:
        with open(part.heartbeat.path) as f:
            assert json.load(f)["token"] == part.heartbeat.record["token"]
