"""Honest accuracy: grouped, stratified cross-validation of a training recipe, thresholds and calibration.

- ``groups``  -- which images must stay together: one source, near-duplicate pixels (perceptual hash).
- ``folds``   -- stratified grouped K-fold, and the selection set carved out of a fold's training part.
- ``dataset`` -- the pooled images of an image folder's splits.
- ``cv``      -- the resumable cross-validation run and its summary.
"""
