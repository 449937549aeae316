"""A candidate's pass list, derived from its search values; refusals that fail one candidate, not the search."""

from __future__ import annotations

import pytest

from edgeforge.errors import BuildError
from edgeforge.passes import PASSES, TrainContext
from edgeforge.passes.chain import apply_training_passes, passes_for, rejection_reason, training_passes_for
from edgeforge.passes.finetune import warn_skipped_layers


def candidate(**changes) -> dict:
    return {"width": 1.0, "sparsity": 0.0, "clusters": 0, "qat": False, "quantization": "int8", **changes}


def test_passes_for_base_candidate_is_only_ptq():
    assert passes_for(candidate()) == [("ptq", {"mode": "int8"})]


def test_passes_for_everything_follows_the_registry_order_and_preserves_both():
    passes = passes_for(candidate(width=0.5, sparsity=0.5, clusters=16, qat=True), {"distill": {"temperature": 2.0}})
    assert [name for name, _ in passes] == ["distill", "prune", "cluster", "qat", "ptq"] == list(PASSES)
    assert passes[0] == ("distill", {"width": 0.5, "temperature": 2.0})
    assert passes[2] == ("cluster", {"clusters": 16, "preserve_sparsity": True})
    assert passes[3] == ("qat", {"preserve": "both"})


@pytest.mark.parametrize(
    ("sparsity", "clusters", "preserve"),
    [(0.0, 0, "none"), (0.5, 0, "sparsity"), (0.0, 16, "clusters"), (0.5, 16, "both")],
)
def test_passes_for_qat_preserves_what_earlier_passes_made(sparsity, clusters, preserve):
    passes = dict(passes_for(candidate(sparsity=sparsity, clusters=clusters, qat=True)))
    assert passes["qat"] == {"preserve": preserve}


def test_passes_for_gives_fixed_settings_only_to_their_pass():
    passes = dict(passes_for(candidate(width=0.5, sparsity=0.5), {"distill": {"soft_weight": 0.5}}))
    assert passes == {"distill": {"width": 0.5, "soft_weight": 0.5}, "prune": {"sparsity": 0.5}, "ptq": {"mode": "int8"}}


def test_training_passes_for_a_recipe_leave_out_the_conversion():
    recipe = {"width": 1.0, "sparsity": 0.5, "clusters": 16, "qat": True}
    assert training_passes_for(recipe) == [
        ("prune", {"sparsity": 0.5}),
        ("cluster", {"clusters": 16, "preserve_sparsity": True}),
        ("qat", {"preserve": "both"}),
    ]


def test_every_derived_config_validates_against_its_pass():
    for name, options in passes_for(candidate(width=0.5, sparsity=0.5, clusters=16, qat=True)):
        PASSES[name](options)


@pytest.mark.parametrize("mode", ["float32", "float16", "dynamic", "int16x8"])
def test_passes_for_rejects_qat_without_int8(mode):
    assert "int8" in rejection_reason(candidate(qat=True, quantization=mode))
    with pytest.raises(BuildError, match="pointless"):
        passes_for(candidate(qat=True, quantization=mode))


def test_apply_training_passes_skips_ptq_and_returns_the_base_model():
    base = object()
    assert apply_training_passes(base, [("ptq", {"mode": "int8"})], context=None) is base


@pytest.mark.parametrize("pass_name", ["prune", "cluster", "qat"])
def test_pass_fails_candidate_with_build_error_on_a_layer_tfmot_cannot_wrap(pass_name, digits):
    from edgeforge.tfcompat import import_tf

    _, keras = import_tf()

    class Scale(keras.layers.Layer):  # a custom layer with weights: no TF-MOT registry knows it
        def build(self, input_shape):
            self.scale = self.add_weight(name="scale", shape=(1,))

        def call(self, inputs):
            return inputs * self.scale

    model = keras.Sequential([keras.layers.Input((8, 8, 1)), keras.layers.Flatten(), Scale(), keras.layers.Dense(10)])
    options = {"prune": {"sparsity": 0.5}, "cluster": {"clusters": 4}, "qat": {}}[pass_name]
    context = TrainContext(digits, teacher=None, epochs=1, batch_size=64, learning_rate=0.001, seed=0)
    with pytest.raises(BuildError, match=f"{pass_name}: TF-MOT cannot wrap"):
        PASSES[pass_name](options).apply(model, context)


def test_skipped_depthwise_layers_are_named_in_a_warning():
    from edgeforge.models import build_model

    model = build_model("ds_cnn", (8, 8, 1), 10)
    with pytest.warns(UserWarning, match=r"prune: TF-MOT skips layer 'depthwise_1'"):
        skipped = warn_skipped_layers(model, "prune", "pruning")
    assert len(skipped) == 2


def test_more_clusters_than_a_layer_has_weights_fails_that_candidate_with_tfmots_reason(context):
    """TF-MOT's k-means++ raises a TensorFlow op error (not a ValueError) when a layer has fewer
    weights than clusters, as a pruned narrow student can: one failed candidate, not a dead search."""
    from edgeforge.tfcompat import import_tf

    _, keras = import_tf()
    model = keras.Sequential([keras.layers.Input((4,)), keras.layers.Dense(2)])
    model.layers[0].set_weights([model.layers[0].get_weights()[0] * 0, model.layers[0].get_weights()[1]])
    with pytest.raises(BuildError, match=r"^cluster: TF-MOT cannot wrap this model: Expected num_to_sample <= points.rows\(\)"):
        PASSES["cluster"]({"clusters": 16}).apply(model, context)
