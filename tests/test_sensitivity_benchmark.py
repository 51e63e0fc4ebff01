"""`benchmarks/sensitivity.py --jobs`: the studies run side by side, each
process with the share of the machine a job of `rnninit-tune --jobs` has.
No study runs here: the processes are stand-ins."""

import importlib.util
import os

from keras_rnninit.tuning import jobs

SCRIPT = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks",
                      "sensitivity.py")


def _load_script(monkeypatch):
    monkeypatch.syspath_prepend(os.path.dirname(SCRIPT))
    spec = importlib.util.spec_from_file_location("sensitivity", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_studies_side_by_side_share_the_cores_out(monkeypatch, capsys):
    script = _load_script(monkeypatch)
    monkeypatch.setattr(jobs.Machine, "this", classmethod(
        lambda cls, environ=None: cls(cores=(0, 1, 2, 3), memory=None)))
    monkeypatch.setattr(script.time, "sleep", lambda seconds: None)
    # How many polls each study's process runs for.
    polls = {"adding_T200": 3, "adding_T100": 1, "byo_lstm": 1, "byo_gru": 1}
    started, running = [], set()

    class Process:
        def __init__(self, command, env, **kwargs):
            self.name = command[command.index("--only") + 1]
            running.add(self.name)
            assert len(running) <= 2, running
            started.append((self.name, env))
            self.stdout = iter([f"{self.name} ran\n"])
            self.polls, self.returncode = polls[self.name], None

        def poll(self):
            self.polls -= 1
            if self.polls <= 0:
                running.discard(self.name)
                self.returncode = 0
            return self.returncode

    monkeypatch.setattr("subprocess.Popen", Process)
    script._run_in_parallel(list(polls), 2)
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "2 jobs x 2 threads, one study each"
    assert "[byo_gru] byo_gru ran" in out
    cores = {name: env[jobs.CORES] for name, env in started}
    # The longest first; a study that ends hands its cores to the next.
    assert [name for name, _ in started] == ["adding_T200", "adding_T100",
                                             "byo_lstm", "byo_gru"]
    assert cores == {"adding_T200": "0,1", "adding_T100": "2,3",
                     "byo_lstm": "2,3", "byo_gru": "2,3"}
    for _, env in started:
        assert env[jobs.THREADS] == env["TF_NUM_INTRAOP_THREADS"] == "2"
        assert env["PATH"] == os.environ["PATH"]
