"""Magnitude pruning (TF-MOT): zero the smallest conv/dense kernel weights while fine-tuning."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from edgeforge.passes.base import Pass, PassConfig, SearchSetting, TrainContext
from edgeforge.passes.finetune import clone_with_weights, fine_tune, steps_per_epoch, warn_skipped_layers, wrapping
from edgeforge.tfcompat import seed_everything

# Mask updates per fine-tune: often enough to ramp smoothly even over one short epoch.
MASK_UPDATES = 10
# The schedule reaches the target this far into the fine-tune; the rest lets the model recover.
RAMP_FRACTION = 0.75


class Prune(Pass):
    """Prune conv/dense kernels to `sparsity` exact zeros, then strip the wrappers.

    Sparsity ramps from 0 along a polynomial decay and holds at the target for the last quarter
    of the fine-tune. Cost: fine-tunes for `context.epochs` epochs.
    """

    name: ClassVar[str] = "prune"
    search: ClassVar[SearchSetting] = SearchSetting(
        key="sparsity",
        type=float,
        off=0.0,
        id_prefix="s",
        description="magnitude-pruning targets, in [0, 1)",
        check=lambda sparsity: 0 <= sparsity < 1,
        valid="sparsity is in [0, 1)",
    )

    class Config(PassConfig):
        sparsity: float = Field(gt=0, lt=1, description="final fraction of zero weights in each kernel")

    def apply(self, model, context: TrainContext):
        import tensorflow_model_optimization as tfmot

        seed_everything(context.seed)
        copy = clone_with_weights(model)
        warn_skipped_layers(copy, self.name, "pruning")
        with wrapping(self.name):
            wrapped = tfmot.sparsity.keras.prune_low_magnitude(
                copy, pruning_schedule=pruning_schedule(self.config.sparsity, steps_per_epoch(context) * context.epochs)
            )
        fine_tune(wrapped, context, callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
        return tfmot.sparsity.keras.strip_pruning(wrapped)


def pruning_schedule(sparsity: float, total_steps: int):
    """PolynomialDecay whose last mask update lands exactly on `end_step`, at the target sparsity.

    TF-MOT updates masks at steps 1..total_steps where (step - begin_step) % frequency == 0; its
    default frequency (100) would never fire in a fine-tune of a few dozen steps.
    """
    import tensorflow_model_optimization as tfmot

    frequency = max(1, int(total_steps * RAMP_FRACTION) // MASK_UPDATES)
    end_step = max(frequency, int(total_steps * RAMP_FRACTION) // frequency * frequency)
    return tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.0, final_sparsity=sparsity, begin_step=0, end_step=end_step, frequency=frequency
    )
