"""Training: the sgdm optimiser, the training loop with checkpoints, and the evaluation metrics."""
from .metrics import binary_metrics, confusion_matrix, format_table5, roc_auc, roc_curve
from .optim import SGDM, piecewise_lr
from .trainer import (TrainConfig, TrainingCancelled, TrainingDiverged, TrainResult, evaluate_loss_accuracy, fit,
                      load_checkpoint)

__all__ = ["SGDM", "piecewise_lr", "TrainConfig", "TrainResult", "TrainingDiverged", "TrainingCancelled", "fit",
           "evaluate_loss_accuracy", "load_checkpoint", "binary_metrics", "confusion_matrix", "roc_auc",
           "roc_curve", "format_table5"]
