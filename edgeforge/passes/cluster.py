"""Weight clustering (TF-MOT): share a few centroid values per kernel, so the model compresses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field

from edgeforge.passes.base import Pass, PassConfig, SearchSetting, TrainContext
from edgeforge.passes.finetune import clone_with_weights, fine_tune, warn_skipped_layers, wrapping
from edgeforge.tfcompat import seed_everything

# Clustering adjusts a trained model's centroids; the full training rate scatters them (on digits,
# 16 clusters keep 0.978 int8 accuracy at a tenth of it, 0.972 at the full 1e-3).
RATE_FACTOR = 0.1


class Cluster(Pass):
    """Cluster each conv/dense kernel to at most `clusters` distinct values, then strip the wrappers.

    Centroids start from k-means++ (or evenly spaced between the kernel's min and max) and are
    fine-tuned; `preserve_sparsity` keeps the zeros of a pruned model at zero. Cost: fine-tunes for
    `context.epochs` epochs at a tenth of the learning rate.
    """

    name: ClassVar[str] = "cluster"
    search: ClassVar[SearchSetting] = SearchSetting(
        key="clusters",
        type=int,
        off=0,
        id_prefix="c",
        description="weight-clustering centroids; 0 = off",
        check=lambda clusters: clusters == 0 or 2 <= clusters <= 256,
        valid="use 0 (off) or 2..256",
    )

    class Config(PassConfig):
        clusters: int = Field(ge=2, le=256, description="centroids (distinct values) per kernel")
        init: Literal["kmeans_plus_plus", "linear"] = Field(
            "kmeans_plus_plus", description="centroid initialization: k-means++ or evenly spaced"
        )
        preserve_sparsity: bool = Field(False, description="keep a pruned model's zeros (the chain sets it)")

    @classmethod
    def options(cls, values: Mapping[str, Any], fixed: Mapping[str, Any]) -> dict:
        """After pruning (sparsity > 0), clustering keeps the zeros it made."""
        preserve = {"preserve_sparsity": True} if values.get("sparsity", 0.0) > 0 else {}
        return {**super().options(values, fixed), **preserve}

    def apply(self, model, context: TrainContext):
        import tensorflow_model_optimization as tfmot

        clustering = tfmot.clustering.keras
        seed_everything(context.seed)
        copy = clone_with_weights(model)
        warn_skipped_layers(copy, self.name, "clustering")
        with wrapping(self.name):
            wrapped = clustering.cluster_weights(
                copy,
                number_of_clusters=self.config.clusters,
                cluster_centroids_init=getattr(clustering.CentroidInitialization, self.config.init.upper()),
                preserve_sparsity=self.config.preserve_sparsity,
            )
        fine_tune(wrapped, context, rate_factor=RATE_FACTOR)
        return clustering.strip_clustering(wrapped)
