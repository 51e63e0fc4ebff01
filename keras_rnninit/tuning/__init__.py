"""Hyperparameter-sensitivity studies on keras-tuner: built-in families or any model."""

from keras_rnninit.tuning.candidates import Candidate
from keras_rnninit.tuning.candidates import StudyError
from keras_rnninit.tuning.candidates import family_candidates
from keras_rnninit.tuning.candidates import initializer_candidates
from keras_rnninit.tuning.candidates import with_recurrent_initializer
from keras_rnninit.tuning.report import build_report
from keras_rnninit.tuning.report import write_report
from keras_rnninit.tuning.space import SearchSpace
from keras_rnninit.tuning.strategy import select_strategy
from keras_rnninit.tuning.studies import study_families
from keras_rnninit.tuning.studies import study_initializers
from keras_rnninit.tuning.study import StudySettings
from keras_rnninit.tuning.study import run_study
