"""ROC AUC, the anomaly threshold and reconstruction errors against hand-computed cases and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest

from edgeforge.errors import BuildError
from edgeforge.evaluate.quality import (
    choose_threshold,
    class_accuracies,
    detection_rates,
    reconstruction_errors,
    roc_auc,
    top1_accuracy,
)


def test_roc_auc_matches_a_hand_computed_case_with_a_tie():
    # positives score 0.8, 0.4, 0.35; negatives 0.1, 0.4, 0.7. Pairs (pos > neg): 0.8 beats all 3,
    # 0.4 beats 0.1 and ties 0.4 (half), 0.35 beats 0.1: 3 + 1.5 + 1 = 5.5 of 9
    labels = np.array([1, 0, 1, 0, 1, 0])
    scores = np.array([0.8, 0.1, 0.4, 0.4, 0.35, 0.7])
    assert roc_auc(labels, scores) == pytest.approx(5.5 / 9)


def test_roc_auc_is_one_for_perfect_separation_and_half_for_constant_scores():
    labels = np.array([0, 0, 0, 1, 1])
    assert roc_auc(labels, np.array([0.1, 0.2, 0.3, 0.9, 1.5])) == 1.0
    assert roc_auc(labels, np.array([0.9, 0.8, 0.7, 0.1, 0.0])) == 0.0
    assert roc_auc(labels, np.ones(5)) == 0.5


def test_roc_auc_agrees_with_scikit_learn_on_random_scores_with_ties():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=500)
    scores = np.round(rng.normal(size=500) + labels * 0.7, 1)  # rounded: many ties
    assert roc_auc(labels, scores) == pytest.approx(metrics.roc_auc_score(labels, scores), abs=1e-12)


def test_roc_auc_without_both_classes_says_which_is_missing():
    with pytest.raises(ValueError, match="needs both classes; got 0 anomalies and 3 normal"):
        roc_auc(np.zeros(3), np.array([0.1, 0.2, 0.3]))


def test_choose_threshold_separates_separable_scores_at_the_midpoint():
    labels = np.array([0, 0, 0, 1, 1])
    threshold = choose_threshold(labels, np.array([0.1, 0.3, 0.2, 0.9, 0.7]))
    assert threshold == pytest.approx((0.3 + 0.7) / 2)
    assert detection_rates(labels, np.array([0.1, 0.3, 0.2, 0.9, 0.7]), threshold) == (1.0, 0.0)


def test_choose_threshold_maximizes_youdens_j():
    # flagging >= 0.6 catches 2 of 3 anomalies, no false alarm (J = 0.667); flagging >= 0.3 catches all
    # three but also 2 of 4 normal samples (J = 0.5): the first cut wins
    labels = np.array([1, 1, 0, 1, 0, 0, 0])
    scores = np.array([0.9, 0.6, 0.5, 0.3, 0.45, 0.1, 0.05])
    threshold = choose_threshold(labels, scores)
    assert threshold == pytest.approx((0.6 + 0.5) / 2)
    tpr, fpr = detection_rates(labels, scores, threshold)
    assert (tpr, fpr) == (pytest.approx(2 / 3), 0.0)
    best_j = max(
        (scores[labels == 1] > t).mean() - (scores[labels == 0] > t).mean() for t in np.r_[scores - 1e-9, scores + 1e-9]
    )
    assert tpr - fpr == pytest.approx(best_j)


def test_choose_threshold_prefers_the_higher_cut_when_youdens_j_ties():
    # cut above 0.5: J = 1/2 - 0; cut above 0.2: J = 1 - 1/2: equal, the higher cut (fewer alarms) wins
    labels = np.array([1, 0, 1, 0])
    scores = np.array([0.9, 0.5, 0.3, 0.1])
    assert choose_threshold(labels, scores) == pytest.approx((0.9 + 0.5) / 2)


def test_choose_threshold_keeps_tied_scores_on_one_side():
    labels = np.array([1, 1, 0, 0])
    scores = np.array([0.5, 0.5, 0.5, 0.1])
    threshold = choose_threshold(labels, scores)
    assert threshold == pytest.approx(0.3)  # all three 0.5s flagged together


def test_reconstruction_errors_are_the_mean_squared_error_per_sample_of_any_shape():
    x = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    reconstructions = x.reshape(2, 6) + np.array([[0, 0, 0, 0, 0, 2], [1, 1, 1, 1, 1, 1]])
    assert reconstruction_errors(reconstructions, x).tolist() == pytest.approx([4 / 6, 1.0])


def test_reconstruction_errors_name_a_model_whose_output_is_not_its_input_size():
    with pytest.raises(BuildError, match="reconstructs 3 values per sample, its input has 4"):
        reconstruction_errors(np.zeros((2, 3)), np.zeros((2, 4)))


def test_top1_accuracy_counts_the_highest_score():
    assert top1_accuracy(np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]), np.array([1, 1, 1])) == pytest.approx(2 / 3)


def test_class_accuracies_are_each_class_recall_and_agree_with_top1_accuracy():
    scores = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.6, 0.4, 0.0], [0.1, 0.9, 0.0]])
    y = np.array([0, 1, 1, 1])
    shares, samples = class_accuracies(scores, y)
    assert shares == [1.0, round(2 / 3, 6), None] and samples == [1, 3, 0]  # class 2: no sample, no figure
    assert sum(s * n for s, n in zip(shares[:2], samples[:2])) / len(y) == pytest.approx(top1_accuracy(scores, y))
