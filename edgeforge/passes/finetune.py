"""What the training-time passes share: copy the input, fine-tune, and name the layers TF-MOT skips.

A pass never trains its input model in place (TF-MOT wrappers share the wrapped layer's variables),
because the search memoizes trained models and hands the same one to several candidates.
"""

from __future__ import annotations

import math
import re
import warnings
from contextlib import contextmanager

from edgeforge.errors import BuildError
from edgeforge.passes.base import TrainContext
from edgeforge.tfcompat import fresh_layer_names, import_tf

# Layers TF-MOT accepts but leaves alone: it neither prunes nor clusters a DepthwiseConv2D kernel,
# and its sparsity- and cluster-preserving QAT schemes do not preserve one either.
SKIPPED_BY_TFMOT = ("DepthwiseConv2D",)


def clone_with_weights(model):
    """A new model with the same architecture and (copied) weights."""
    _, keras = import_tf()
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def steps_per_epoch(context: TrainContext) -> int:
    return math.ceil(len(context.splits.x_train) / context.batch_size)


def fine_tune(model, context: TrainContext, *, loss=None, y=None, callbacks=(), rate_factor=1.0):
    """Train `model` in place on the training split for `context.epochs` epochs, Adam at the
    context's learning rate times `rate_factor`, with `loss` (default: the task's, `context.loss`)."""
    from edgeforge.models.augmentation import fit_data  # NumPy: imported when training, not with the spec

    _, keras = import_tf()
    model.compile(optimizer=keras.optimizers.Adam(context.learning_rate * rate_factor), loss=loss or context.loss)
    # `train.augmentation` applies to the split's own labels; a distilled student's targets (y) are
    # the teacher's scores of the unaugmented samples, so it trains on those samples as they are
    augmentation = context.augmentation if y is None else None
    data = fit_data(context.splits.x_train, context.splits.y_train if y is None else y, context.batch_size, augmentation, context.seed)
    model.fit(**data, epochs=context.epochs, callbacks=list(callbacks), verbose=0)


@contextmanager
def wrapping(pass_name: str):
    """Turn TF-MOT's refusal to wrap a layer into a BuildError that fails only this candidate.

    The layers TF-MOT adds are named afresh (its QAT input layer is an auto-named `quantize_layer_N`,
    saved in the memo's HDF5), so a wrapped model never depends on how many models the process
    wrapped before."""
    tf, _ = import_tf()
    try:
        with fresh_layer_names():
            yield
    # an op error too: k-means++ cannot seed more clusters than a layer has weights
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        text = re.sub(r"^\{\{function_node [^}]*\}\}\s*", "", str(error).strip())  # TF's op-name prefix
        reason = (text.splitlines() or [type(error).__name__])[0]
        raise BuildError(f"{pass_name}: TF-MOT cannot wrap this model: {reason}") from error


def warn_skipped_layers(model, pass_name: str, effect: str) -> list[str]:
    """Warn about (and return) the layers whose weights TF-MOT leaves without `effect`."""
    skipped = [layer for layer in model.layers if type(layer).__name__ in SKIPPED_BY_TFMOT]
    for layer in skipped:
        warnings.warn(
            f"{pass_name}: TF-MOT skips layer '{layer.name}' ({type(layer).__name__}); its weights get no {effect}",
            stacklevel=3,
        )
    return [layer.name for layer in skipped]
