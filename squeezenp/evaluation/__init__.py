"""Honest accuracy: grouped, stratified cross-validation of a training recipe, thresholds and calibration.

- ``groups``       -- which images must stay together: one source, near-duplicate pixels (perceptual hash).
- ``folds``        -- stratified grouped K-fold, and the selection set carved out of a fold's training part.
- ``dataset``      -- the pooled images of an image folder's splits.
- ``cv``           -- the resumable cross-validation run and its summary.
- ``thresholds``   -- the 0.5 cut-off and the sensitivity-first operating point.
- ``calibration``  -- Platt scaling, reliability bins, expected calibration error.
- ``decision``     -- how a saved model turns files into calibrated probabilities and decisions (predict).
- ``plots``, ``report`` -- the ROC and reliability pictures and the tables/page of ``squeezenp cv``.

The protocol and its reasons: docs/accuracy.md.
"""
