"""`benchmarks/indrnn_speed.py --device gpu`, dry-run on the CPU
(`--allow-cpu --quick`, tiny shapes): the plan runs end to end and writes
its files with every model's figures. Nothing is timed here."""

import importlib.util
import json
import os

import keras
import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks",
                      "indrnn_speed.py")
BACKEND = keras.backend.backend()


def _load_script(monkeypatch):
    """The script as a module, in this process (its imports are done)."""
    # What the script sets for a CPU run, put back after the test.
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setenv("JAX_PLATFORMS", os.environ.get("JAX_PLATFORMS", ""))
    monkeypatch.syspath_prepend(os.path.dirname(SCRIPT))
    spec = importlib.util.spec_from_file_location("indrnn_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module._results, "RESULTS_DIR",
                        module._results.RESULTS_DIR)
    return module


def _triton_runs_here():
    return (BACKEND == "torch" and os.environ.get("TRITON_INTERPRET") == "1"
            and importlib.util.find_spec("triton") is not None)


@pytest.mark.slow
def test_the_gpu_plan_runs_on_the_cpu(tmp_path, monkeypatch):
    script = _load_script(monkeypatch)
    monkeypatch.setenv("BENCHMARK_RESULTS_DIR", str(tmp_path))
    script.main(["--device", "gpu", "--allow-cpu", "--quick", "--batch", "3",
                 "--units", "4", "--gpu-timesteps", "20", "--only",
                 "2 layers"])
    name = f"indrnn_speed_{BACKEND}_gpu_checked_on_cpu_quick"
    assert sorted(os.listdir(tmp_path)) == [
        name + suffix for suffix in (".json", ".md", ".png")]
    with open(tmp_path / (name + ".json")) as f:
        payload = json.load(f)
    expected = ["sequential", "parallel", "lstm", "simple_rnn"]
    if _triton_runs_here():
        expected.insert(1, "triton")
    assert payload["kinds"] == expected
    [row] = payload["rows"]
    assert (row["layers"], row["timesteps"], row["batch"]) == (2, 2, 3)
    for kind in expected:
        for metric in ("train", "forward"):
            assert row[f"{kind}_{metric}_ms"] > 0
            if kind not in ("lstm", "simple_rnn"):
                assert row[f"{kind}_{metric}_vs_lstm"] > 0
    table = (tmp_path / (name + ".md")).read_text()
    assert "| 2 layers (adding model) | 2 |" in table
    if BACKEND == "torch" and "triton" not in expected:
        assert "The Triton kernel was not measured" in table
