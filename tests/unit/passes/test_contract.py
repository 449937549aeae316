"""The contract every training-time pass keeps (as every Hydra launcher runs LauncherTestSuite).

A pass registers under its name, its config round-trips and rejects unknown keys, the same seed
gives identical weights, it leaves its input model alone, and its output converts with `ptq`,
runs in LiteRT and survives save/load. A new pass gets all of it by subclassing PassContract.
"""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from edgeforge.passes import PASSES
from edgeforge.passes.finetune import clone_with_weights
from edgeforge.passes.io import load_trained, save_trained
from edgeforge.runtimes import predict


class PassContract:
    pass_name: str
    options: dict
    modes: tuple[str, ...] = ("int8",)  # the strictest conversion; test_effects converts float32 too

    @classmethod
    def make(cls):
        return PASSES[cls.pass_name](cls.options)

    @pytest.fixture(scope="class")
    @classmethod
    def output(cls, trained):
        return trained.get((cls.pass_name, cls.options))  # shared with test_effects

    @pytest.fixture(scope="class")
    @classmethod
    def rerun(cls, base_model, context):
        """A second run, on a copy of the base: (the copy's weights before, the output, the copy)."""
        source = clone_with_weights(base_model)
        before = [weight.copy() for weight in source.get_weights()]
        return before, cls.make().apply(source, context), source

    def test_registers_under_its_name(self):
        assert PASSES[self.pass_name].name == self.pass_name

    def test_config_round_trips(self):
        config = self.make().config
        assert type(config).model_validate(config.model_dump()) == config

    def test_config_rejects_unknown_keys(self):
        with pytest.raises(ValidationError, match="extra"):
            PASSES[self.pass_name]({**self.options, "not_an_option": 1})

    @pytest.mark.slow
    def test_same_seed_gives_identical_weights(self, output, rerun):
        _, again, _ = rerun
        assert len(again.get_weights()) == len(output.get_weights())
        for first, second in zip(output.get_weights(), again.get_weights()):
            np.testing.assert_array_equal(first, second)

    @pytest.mark.slow
    def test_leaves_its_input_untouched(self, rerun):
        before, _, source = rerun
        for old, new in zip(before, source.get_weights()):
            np.testing.assert_array_equal(old, new)

    @pytest.mark.slow
    def test_output_converts_and_runs_in_litert(self, output, convert, digits):
        for mode in self.modes:
            scores = predict(convert(output, mode), digits.x_test[:16], "tflite")
            assert scores.shape == (16, digits.num_classes)
            np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=0.02)  # still a softmax

    @pytest.mark.slow
    def test_output_round_trips_through_save_and_load(self, output, digits, tmp_path):
        save_trained(output, tmp_path / "first.h5")
        save_trained(output, tmp_path / "second.h5")
        assert (tmp_path / "first.h5").read_bytes() == (tmp_path / "second.h5").read_bytes()
        loaded = load_trained(tmp_path / "first.h5")
        x = digits.x_test[:16]
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), output.predict(x, verbose=0))


class TestDistill(PassContract):
    pass_name = "distill"
    options = {"width": 0.5, "temperature": 4.0, "soft_weight": 0.7}

    @pytest.mark.slow
    def test_student_is_the_same_architecture_narrower(self, output, base_model):
        layer_types = [type(layer).__name__ for layer in output.layers]
        assert layer_types == [type(layer).__name__ for layer in base_model.layers]
        assert output.layers[0].filters == base_model.layers[0].filters // 2
        assert output.count_params() < base_model.count_params()


class TestPrune(PassContract):
    pass_name = "prune"
    options = {"sparsity": 0.5}


class TestCluster(PassContract):
    pass_name = "cluster"
    options = {"clusters": 16}


class TestQat(PassContract):
    pass_name = "qat"
    options = {"preserve": "none"}
