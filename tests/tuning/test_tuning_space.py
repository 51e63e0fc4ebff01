import json

import pytest

from keras_rnninit.tuning.space import SearchSpace
from keras_rnninit.tuning.space import SpaceError


def test_defaults_span_several_decades():
    space = SearchSpace()
    assert space.decades >= 3


def test_grid_learning_rates_are_log_spaced():
    rates = SearchSpace(learning_rate=(1e-4, 1e-0), grid_points=5).grid_learning_rates()
    assert rates == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1, 1.0])


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"learning_rate": (1e-2, 1e-3)}, "learning_rate"),
        ({"learning_rate": (0, 1e-3)}, "learning_rate"),
        ({"clipnorm": ()}, "clipnorm"),
        ({"clipnorm": (-1,)}, "clipnorm"),
        ({"optimizer": ()}, "optimizer"),
        ({"optimizer": ("adamw2",)}, "optimizer"),
        ({"grid_points": 0}, "grid_points"),
    ],
)
def test_bad_space_names_the_field(kwargs, name):
    with pytest.raises(SpaceError, match=name):
        SearchSpace(**kwargs)


def test_from_yaml_and_json_files(tmp_path):
    yaml_path = tmp_path / "space.yaml"
    yaml_path.write_text(
        "learning_rate: {min: 1.0e-4, max: 1.0e-2}\nclipnorm: [1]\n"
        "optimizer: [sgd]\ninit_scale: false\n"
    )
    space = SearchSpace.from_file(str(yaml_path))
    assert space.learning_rate == (1e-4, 1e-2)
    assert space.clipnorm == (1.0,) and space.optimizer == ("sgd",)
    assert space.init_scale is False
    json_path = tmp_path / "space.json"
    json_path.write_text(json.dumps(space.to_dict()))
    assert SearchSpace.from_file(str(json_path)) == space


def test_empty_or_unknown_file_content(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(SpaceError, match="empty"):
        SearchSpace.from_file(str(empty))
    with pytest.raises(SpaceError, match="Unknown search-space key"):
        SearchSpace.from_dict({"momentum": [0.9]})
    with pytest.raises(SpaceError, match="not found"):
        SearchSpace.from_file(str(tmp_path / "missing.json"))
