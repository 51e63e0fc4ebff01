"""A trial's result depends on its own hyperparameters and seed only.

Each trial of a study is run again alone, in a directory of its own, and
must give exactly the same curve as it did after the other trials of the
study in the same process (where it may also have trained a kept compiled
model, `CompiledModels`). CPU training is deterministic run to run on every
backend, so the comparison is exact.
"""


import keras
import numpy as np
import pytest

from keras_rnninit.tuning import study_families
from keras_rnninit.tuning import study_initializers
from keras_rnninit.tuning.study import finished_results

pytestmark = pytest.mark.slow

# Two families of the same architecture (a kept model serves both), two
# rates, two seeds: every trial after the first runs after others.
BUDGET = dict(seeds=2, steps=200, eval_every=100, verbose=None)


def curves(directory):
    return {(r["candidate"], round(r["hyperparameters"]["learning_rate"], 12),
             r["seed"]): (r["curve"], r["reused_compiled_model"])
            for r in finished_results(directory)}


def _budget(**extra):
    settings = dict(BUDGET, **extra)
    settings.pop("verbose")
    return settings


# On torch, which keeps no compiled model, every trial builds a fresh model
# alone or after others; the user-dataset case below checks its seeding.
@pytest.mark.skipif(keras.backend.backend() == "torch",
                    reason="torch keeps no compiled model")
def test_a_task_trial_alone_equals_the_same_trial_after_others(tmp_path):
    rates = (1e-3, 1e-2)
    common = dict(task="adding", task_kwargs={"length": 10}, log=lambda *a: None)
    study_families(str(tmp_path / "all"), families=["irnn", "np-rnn"],
                   learning_rates=2, learning_rate_range=rates, **common,
                   **_budget())
    together = curves(str(tmp_path / "all"))
    assert len(together) == 8
    assert any(reused for _, reused in together.values())
    # np-rnn's trials run last, on the model kept from irnn's; alone, each
    # of them runs on a fresh model, after a different trial or none.
    for lr in rates:
        alone_dir = str(tmp_path / f"np_rnn_{lr}")
        study_families(alone_dir, families=["np-rnn"], learning_rates=1,
                       learning_rate_range=(lr, lr), **common, **_budget())
        for key, (curve, _) in curves(alone_dir).items():
            assert curve == together[key][0], key


USER_MODULE = '''
import keras
import keras
import numpy as np
import tensorflow as tf


def make_model():
    model = keras.Sequential([keras.Input((6, 2)), keras.layers.SimpleRNN(4),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def load():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6, 2)).astype("float32")
    y = x[:, :, :1].sum(1)
    # Reshuffled on every pass: a trial that starts its pass elsewhere
    # trains on other batches.
    train = tf.data.Dataset.from_tensor_slices((x[:48], y[:48])).shuffle(
        48, seed=3, reshuffle_each_iteration=True).batch(8)
    return train, (x[48:], y[48:])
'''


def test_a_user_dataset_trial_alone_equals_the_same_trial_after_others(
        tmp_path, monkeypatch):
    (tmp_path / "reshuffled.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import reshuffled

    # With a baseline given, no evaluation before training builds the model:
    # `fit` builds it, which is where a pass of the data could be lost.
    common = dict(threshold=0.01, baseline=10.0, log=lambda *a: None)
    inits = ["orthogonal", "glorot_uniform"]
    study_initializers(str(tmp_path / "all"), reshuffled.make_model,
                       reshuffled.load, inits, learning_rates=2,
                       learning_rate_range=(1e-3, 1e-2), **common,
                       **_budget(steps=40, eval_every=10))
    together = curves(str(tmp_path / "all"))
    assert len(together) == 8
    study_initializers(str(tmp_path / "alone"), reshuffled.make_model,
                       reshuffled.load, ["glorot_uniform"], learning_rates=1,
                       learning_rate_range=(1e-2, 1e-2), **common,
                       **_budget(steps=40, eval_every=10))
    # Seed 0 of glorot_uniform trains a kept model in the first study, a
    # fresh one here.
    for key, (curve, _) in curves(str(tmp_path / "alone")).items():
        np.testing.assert_equal(curve, together[key][0], err_msg=str(key))
