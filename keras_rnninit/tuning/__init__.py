"""Hyperparameter-sensitivity searches over model families (keras-tuner)."""

from keras_rnninit.tuning.report import build_report
from keras_rnninit.tuning.report import write_report
from keras_rnninit.tuning.search import SearchConfig
from keras_rnninit.tuning.search import run_search
from keras_rnninit.tuning.space import SearchSpace
from keras_rnninit.tuning.strategy import select_strategy
