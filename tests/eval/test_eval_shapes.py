"""The silhouette classifier names the world's shapes on fresh renders."""

from __future__ import annotations

import numpy as np

from zoetrope.eval.silhouette import _training_set, classify, features
from zoetrope.world.vocab import SHAPES


def test_shape_classifier_is_at_least_98_percent_right_on_unseen_renders():
    feats, labels, _ = _training_set(n_per_shape=25, seed=777)  # a seed the classifier never saw
    assert set(labels) == set(SHAPES)
    from zoetrope.eval.silhouette import _classifier

    train, train_labels, mean, std = _classifier()
    q = (feats - mean) / std
    nearest = np.argsort(((q[:, None, :] - train[None]) ** 2).sum(-1), axis=1)[:, :5]
    votes = [max(set(row), key=list(row).count) for row in train_labels[nearest]]
    assert np.mean(np.array(votes) == labels) >= 0.98


def test_descriptor_ignores_rotation_and_scale():
    yy, xx = np.mgrid[-20:21, -20:21]
    square = (np.abs(xx) <= 12) & (np.abs(yy) <= 12)
    turned = (np.abs(xx + yy) <= 17) & (np.abs(xx - yy) <= 17)  # the same square at 45 degrees
    small = (np.abs(xx) <= 6) & (np.abs(yy) <= 6)
    f = [features(np.nonzero(m)[1], np.nonzero(m)[0]) for m in (square, turned, small)]
    assert np.abs(f[0] - f[1]).max() < 0.5 and np.abs(f[0] - f[2]).max() < 0.5
    assert classify(np.nonzero(turned)[1], np.nonzero(turned)[0]) == "square"
