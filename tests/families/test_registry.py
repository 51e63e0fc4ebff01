import keras
import pytest

from keras_rnninit import catalog
from keras_rnninit import families
from keras_rnninit import models
from keras_rnninit.families import clockwork
from keras_rnninit.families import indrnn
from keras_rnninit.families import irnn
from keras_rnninit.families import lstm
from keras_rnninit.families import np_rnn
from keras_rnninit.families import tanh_rnn


def test_one_registry_that_models_and_the_catalog_read():
    assert models.FAMILIES is families.FAMILIES
    assert models.FamilySpec is families.FamilySpec
    assert list(catalog.families()) == families.family_names()


def test_every_family_module_registers_its_specs_under_their_names():
    specs = [irnn.IRNN, irnn.IRNN_SCALED, np_rnn.NP_RNN, np_rnn.NP_TANH,
             tanh_rnn.TANH_RNN, lstm.LSTM, lstm.LSTM_CHRONO, indrnn.INDRNN,
             clockwork.CLOCKWORK]
    assert list(families.FAMILIES.values()) == specs
    assert all(families.get_family(s.name) is s for s in specs)
    assert all(s.description == catalog.FAMILIES[s.name] for s in specs)


def test_a_family_registered_in_one_place_is_seen_everywhere():
    def make_layer(units, hp, task, index, num_layers, return_sequences, seed):
        return keras.layers.GRU(units, return_sequences=return_sequences)

    spec = families.FamilySpec("test-gru-registry", "a GRU", (),
                               make_layer=make_layer)
    families.register_family(spec)
    try:
        assert models.get_family("test-gru-registry") is spec
        assert catalog.families()["test-gru-registry"] == "a GRU"
    finally:
        families.FAMILIES.pop("test-gru-registry")


def test_an_unknown_family_lists_the_registered_ones():
    with pytest.raises(ValueError, match="Available families: .*lstm-chrono"):
        families.get_family("gru")
