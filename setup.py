import pathlib

from setuptools import find_packages
from setuptools import setup

HERE = pathlib.Path(__file__).parent
version = {}
exec((HERE / "keras_rnninit" / "version.py").read_text(), version)

# Ranges, not exact pins: Colab ships TensorFlow and Keras, and installing
# this package there must not force a reinstall of either.
# The tasks run on tf.data (on every backend); the initializers and layers
# need only Keras. Any 2.16-2.21 build: the default wheel (CPU, or GPU
# through `tensorflow[and-cuda]`).
tasks = ["tensorflow>=2.16,<2.22"]
tune = tasks + [
    "keras-tuner>=1.4.7,<1.5",
    # keras-tuner needs tensorboard on the TensorFlow backend but does not
    # declare it: without it every trial fails.
    "tensorboard>=2.16,<2.22",
    "matplotlib>=3.7",
    "rich>=13",
    "pyyaml>=6",
]
data = tasks + [
    "tensorflow-datasets>=4.9.6,<5",
    # tensorflow-datasets 4.9.x imports it without declaring it.
    "importlib_resources>=6",
    "scikit-learn>=1.3",
]
# Hyperparameter importance of random-protocol studies: optuna's fANOVA
# (scikit-learn) and PED-ANOVA evaluators.
importance = ["optuna>=3.6,<6", "scikit-learn>=1.3"]
notebooks = ["matplotlib>=3.7", "ipykernel>=6"]
# The documentation site (`mkdocs build --strict`): Material theme, the API
# reference from the docstrings, the notebooks rendered without running.
docs = [
    "mkdocs>=1.6,<2",
    "mkdocs-material>=9.5,<10",
    "mkdocstrings[python]>=0.26,<2",
    "mkdocs-jupyter>=0.25,<1",
    # mkdocstrings lays out long signatures with it.
    "ruff>=0.4,<1",
]
# IndRNN's Triton kernel for PyTorch on CUDA (torch's CUDA wheels bring a
# Triton already); its tests run it in Triton's interpreter on a CPU.
triton = ["triton>=3.6,<4"]
test = sorted(
    set(
        ["pytest>=8,<10", "pytest-timeout>=2.3", "nbmake>=1.5,<2"]
        + tune
        + data
        + importance
        + notebooks
    )
)

setup(
    name="keras-rnninit",
    version=version["__version__"],
    description=(
        "IRNN, np-RNN, IndRNN and Clockwork RNN for Keras 3, with "
        "hyperparameter-sensitivity searches."
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license_expression="Apache-2.0",
    license_files=["LICENSE"],
    keywords=["keras", "rnn", "irnn", "indrnn", "clockwork-rnn", "initialization",
              "hyperparameter-sensitivity", "keras-tuner"],
    python_requires=">=3.10",
    packages=find_packages(include=["keras_rnninit", "keras_rnninit.*"]),
    py_modules=["keras_rnninit_cli"],
    include_package_data=True,
    install_requires=[
        "keras" + version["KERAS_REQUIREMENT"],
        "numpy>=1.26,<3",
    ],
    extras_require={
        "tasks": tasks,
        "tune": tune,
        "data": data,
        "importance": importance,
        "jax": ["jax>=0.4.30,<0.13"],
        "torch": ["torch>=2.4,<2.15"],
        "triton": triton,
        "notebooks": notebooks,
        "test": test,
        "docs": docs,
    },
    entry_points={
        "console_scripts": [
            "rnninit-tune=keras_rnninit_cli:tune",
            "rnninit-train=keras_rnninit_cli:train",
        ],
    },
    # No project URLs: the project has no public home page or repository yet.
    classifiers=[
        "Development Status :: 3 - Alpha",
        "Intended Audience :: Science/Research",
        "Intended Audience :: Developers",
        "Operating System :: OS Independent",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Framework :: Keras",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
