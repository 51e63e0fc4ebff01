"""Smoke test of an installed keras-rnninit wheel, run outside the source tree.

    python smoke_wheel.py EXTRA [EXTRA ...]  # base, tasks, tune, data, importance

`base` (always checked): the package imports from site-packages (not from a
checkout), its installed version is `keras_rnninit.__version__`, every layer
reloads from a `.keras` file with equal outputs, and both command lines
answer `--help`. Each extra then checks what it promises: `tasks` a tf.data
task, `tune` a tiny sensitivity study through `rnninit-tune`, `data` MNIST
through tensorflow-datasets (its offline mock), `importance` fANOVA
importances through optuna and scikit-learn. Prints one line per check and
exits non-zero at the first failure.
"""

import importlib.metadata
import importlib.util
import inspect
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

# 3: grappler logs harmless "empty op name" lines at error level for RNNs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
WORK = pathlib.Path(tempfile.mkdtemp(prefix="rnninit_smoke_"))
# The console scripts of the environment running this script.
BIN = pathlib.Path(sys.executable).parent


def check(name):
    def wrap(fn):
        def run():
            start = time.perf_counter()
            fn()
            print(f"ok  {name} ({time.perf_counter() - start:.1f} s)", flush=True)

        return run

    return wrap


@check("installed from the wheel, version matches")
def installed():
    import keras_rnninit

    dist = importlib.metadata.distribution("keras-rnninit")
    origin = json.loads(dist.read_text("direct_url.json") or "{}")
    assert origin.get("url", "").endswith(".whl"), (
        f"not installed from a wheel: {origin}")
    assert not origin.get("dir_info", {}).get("editable"), "an editable install"
    for module in (keras_rnninit, importlib.import_module("keras_rnninit_cli")):
        location = pathlib.Path(module.__file__).resolve()
        assert "site-packages" in location.parts, f"{module.__name__} from {location}"
    assert dist.version == keras_rnninit.__version__, (
        f"installed {dist.version}, "
        f"keras_rnninit.__version__ {keras_rnninit.__version__}")
    top = {pathlib.PurePath(f).parts[0] for f in dist.files}
    assert top <= {"keras_rnninit", "keras_rnninit_cli.py", "__pycache__", "..",
                   f"keras_rnninit-{dist.version}.dist-info"}, (
        f"the wheel installed {top}")


def _layer_models():
    import keras

    import keras_rnninit as kr

    def sequential(*layers, shape=(6, 3)):
        return keras.Sequential([keras.Input(shape), *layers, keras.layers.Dense(2)])

    return {
        "IndRNN": sequential(kr.IndRNN(4, timesteps=6, return_sequences=True),
                             kr.IndRNN(4, recurrent_initializer=kr.ScaledIdentity(
                                 0.5))),
        "IndRNNCell": sequential(keras.layers.RNN(kr.IndRNNCell(
            4, recurrent_constraint=kr.RecurrentBound(1.2)))),
        "Clockwork": sequential(kr.Clockwork(6, periods=(1, 2, 4))),
        "ClockworkCell": sequential(keras.layers.RNN(
            kr.ClockworkCell(6, num_modules=2))),
        "deep_indrnn": kr.deep_indrnn((6, 3), units=4, num_layers=2, num_classes=3),
        "initializers": sequential(keras.layers.SimpleRNN(
            4, activation="relu", kernel_initializer=kr.RandomWalkNormal(seed=1),
            recurrent_initializer=kr.NPInit(seed=2))),
    }


@check("every layer reloads from .keras with equal outputs")
def layers_reload():
    import keras
    import numpy as np

    import keras_rnninit as kr

    models = _layer_models()
    public = {name for name, value in vars(kr.layers).items()
              if not name.startswith("_") and not inspect.ismodule(value)}
    missing = public - set(models)
    assert not missing, f"no save/reload case for {sorted(missing)}"
    x = np.random.default_rng(0).uniform(size=(2, 6, 3)).astype("float32")
    for name, model in models.items():
        path = WORK / f"{name}.keras"
        model.save(path)
        again = keras.models.load_model(path)  # safe_mode=True
        # Called directly: predict() would trace a new function per model.
        np.testing.assert_allclose(keras.ops.convert_to_numpy(again(x)),
                                   keras.ops.convert_to_numpy(model(x)),
                                   rtol=1e-6, atol=1e-6, err_msg=name)


@check("rnninit-tune --help and rnninit-train --help")
def command_help():
    for program, expected in (("rnninit-tune", "--families"),
                              ("rnninit-train", "--family")):
        out = subprocess.run([str(BIN / program), "--help"], capture_output=True,
                             text=True, timeout=120, cwd=WORK)
        assert out.returncode == 0, f"{program} --help: {out.stderr[-2000:]}"
        assert expected in out.stdout and "irnn" in out.stdout, out.stdout[:2000]


@check("tasks: the adding problem as tf.data")
def tasks():
    from keras_rnninit import tasks

    task = tasks.get("adding", length=10, num_train=8, num_validation=4, batch_size=4,
                     seed=0)
    x, y = next(iter(task.train))
    assert tuple(x.shape) == (4, 10, 2) and tuple(y.shape) == (4, 1), (x.shape, y.shape)


@check("tune: a tiny study through rnninit-tune")
def tune():
    directory = WORK / "study"
    command = [str(BIN / "rnninit-tune"), "--task", "adding", "--length", "10",
               "--num-train", "64", "--num-validation", "32",
               "--families", "irnn,np-rnn",
               "--units", "8", "--learning-rates", "2", "--seeds", "1", "--steps", "4",
               "--eval-every", "2", "--batch-size", "16", "--directory", str(directory)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=WORK)
    assert out.returncode == 0, (
        f"rnninit-tune: {out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    report = json.loads((directory / "sensitivity.json").read_text())
    finished = {name: c["trials"] for name, c in report["candidates"].items()}
    assert finished == {"irnn": 2, "np-rnn": 2}, f"finished trials: {finished}"
    assert (directory / "sensitivity.png").stat().st_size > 0


@check("data: MNIST through tensorflow-datasets (offline mock)")
def data():
    import tensorflow_datasets as tfds

    from keras_rnninit import tasks

    with tfds.testing.mock_data(num_examples=12):
        task = tasks.get("mnist", source="tfds", data_dir=str(WORK / "tfds"),
                         num_validation=4, batch_size=4, seed=0)
    x, y = next(iter(task.train))
    assert tuple(x.shape) == (4, 784, 1), x.shape


@check("importance: fANOVA through optuna and scikit-learn")
def importance():
    import numpy as np

    from keras_rnninit.tuning import importance

    rng = np.random.default_rng(0)
    records = []
    for i in range(12):
        lr, clip = 10 ** rng.uniform(-4, -1), float(rng.choice([0.0, 1.0, 10.0]))
        records.append({"status": "COMPLETED", "value": float(abs(np.log10(lr) + 2.5)),
                        "hyperparameters": {"candidate": "irnn", "config": i, "seed": 0,
                                            "learning_rate": lr, "clipnorm": clip}})
    result = importance.importances(records, baseline=10.0, direction="min")
    assert result and set(result) == {"learning_rate", "clipnorm"}, result
    assert abs(sum(result.values()) - 1) < 1e-6, result
    assert result["learning_rate"] > result["clipnorm"], result


CHECKS = {
    "base": (installed, layers_reload, command_help),
    "tasks": (tasks,),
    "tune": (tasks, tune),
    "data": (tasks, data),
    "importance": (importance,),
}


def main(extras):
    unknown = set(extras) - set(CHECKS)
    if unknown:
        sys.exit(f"smoke_wheel.py: unknown extra {sorted(unknown)}; "
                 f"known: {sorted(CHECKS)}")
    # Outside the source tree: nothing of a checkout can shadow the wheel.
    os.chdir(WORK)
    import keras

    print(f"keras {keras.__version__}, backend {keras.backend.backend()}, extras "
          f"{', '.join(extras)}", flush=True)
    done = set()
    for extra in ("base", *extras):
        for fn in CHECKS[extra]:
            if fn not in done:
                done.add(fn)
                fn()
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
