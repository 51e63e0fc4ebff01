__version__ = "0.1.0"
# The Keras releases this package is tested on; setup.py declares this range
# and `keras_rnninit._keras_compat` refuses to run outside it.
KERAS_REQUIREMENT = ">=3.12,<4"
