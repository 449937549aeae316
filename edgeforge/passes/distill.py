"""Knowledge distillation: a narrower student learns from the base model's softened outputs."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, PositiveFloat

from edgeforge.errors import BuildError
from edgeforge.passes.base import Pass, PassConfig, SearchSetting, TrainContext
from edgeforge.passes.finetune import fine_tune
from edgeforge.tfcompat import import_tf, seed_everything


class Distill(Pass):
    """Train a student of `width` x the channels on the teacher's softened logits and the labels.

    Loss: soft_weight * T^2 * KL(softmax(teacher/T) || softmax(student/T))
    + (1 - soft_weight) * cross-entropy(labels, student), as in Hinton et al. (2015). Cost: trains
    a new model from scratch for `context.epochs` epochs, plus one teacher pass over the training set.

    When the targets are values rather than classes (an anomaly-detection autoencoder: y_train is
    the input itself, shape (N, outputs)), the student matches the teacher's outputs instead:
    soft_weight * MSE(teacher, student) + (1 - soft_weight) * MSE(target, student), which is the
    MSE to the blend soft_weight * teacher + (1 - soft_weight) * target (up to a constant); there
    are no logits to soften, so the temperature does not apply.
    """

    name: ClassVar[str] = "distill"
    search: ClassVar[SearchSetting] = SearchSetting(
        key="width",
        type=float,
        off=1.0,
        id_prefix="w",
        description="student widths; < 1.0 means distillation",
        check=lambda width: 0 < width <= 1,
        valid="widths are in (0, 1]",
    )

    class Config(PassConfig):
        width: float = Field(gt=0, lt=1, description="student channel multiplier of the base architecture")
        temperature: PositiveFloat = Field(4.0, description="softmax temperature of the soft targets")
        soft_weight: float = Field(0.7, ge=0, le=1, description="weight of the soft loss; 1 - it weighs labels")

    def apply(self, model, context: TrainContext):
        import numpy as np

        teacher = model if context.teacher is None else context.teacher
        splits = context.splits
        seed_everything(context.seed)
        if splits.y_train.ndim == 2:  # value targets (an autoencoder's input): match the teacher's outputs
            return self._apply_to_values(teacher, context)
        teacher_logits = logits_model(teacher).predict(splits.x_train, batch_size=256, verbose=0)
        student = student_model(context, self.config.width, dropout_of(teacher))
        labels = np.eye(splits.num_classes, dtype=np.float32)[splits.y_train]
        fine_tune(
            logits_model(student),  # shares its layers with `student`, which keeps the Softmax
            context,
            loss=distillation_loss(splits.num_classes, self.config.temperature, self.config.soft_weight),
            y=np.concatenate([labels, teacher_logits], axis=1),
        )
        return student

    def _apply_to_values(self, teacher, context: TrainContext):
        import numpy as np

        splits = context.splits
        teacher_outputs = teacher.predict(splits.x_train, batch_size=256, verbose=0).reshape(splits.y_train.shape)
        student = student_model(context, self.config.width, dropout_of(teacher), outputs=splits.y_train.shape[1])
        soft = self.config.soft_weight
        fine_tune(student, context, loss="mse", y=(soft * teacher_outputs + (1 - soft) * splits.y_train).astype(np.float32))
        return student


def student_model(context: TrainContext, width: float, dropout: float, outputs: int | None = None):
    """A fresh student of the spec's architecture (registry, factory) at `width`, with `outputs`
    values per sample (default: one per class)."""
    from edgeforge.models.source import build_architecture

    splits = context.splits
    outputs = splits.num_classes if outputs is None else outputs
    if context.model_spec is None:
        from edgeforge.models import build_model

        return build_model(context.model_name, splits.input_shape, outputs, width=width, dropout=dropout)
    return build_architecture(context.model_spec, splits.input_shape, outputs, width=width, dropout=dropout)


def logits_model(model):
    """The model up to the layer before its final Softmax, sharing the layers."""
    _, keras = import_tf()
    if not isinstance(model.layers[-1], keras.layers.Softmax):
        raise BuildError(f"distill: model '{model.name}' must end with a Softmax layer to expose its logits")
    return keras.Model(model.inputs, model.layers[-2].output)


def dropout_of(model) -> float:
    _, keras = import_tf()
    return next((layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)), 0.0)


def distillation_loss(num_classes: int, temperature: float, soft_weight: float):
    """Loss over y_true = [one-hot labels | teacher logits] and the student's logits."""
    tf, keras = import_tf()

    def loss(y_true, student_logits):
        labels, teacher_logits = y_true[:, :num_classes], y_true[:, num_classes:]
        hard = keras.losses.categorical_crossentropy(labels, student_logits, from_logits=True)
        soft = keras.losses.kl_divergence(
            tf.nn.softmax(teacher_logits / temperature), tf.nn.softmax(student_logits / temperature)
        )
        return soft_weight * temperature**2 * soft + (1 - soft_weight) * hard

    return loss
