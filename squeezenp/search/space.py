"""The search space of the paper's Bayesian optimisation: initial learning rate, momentum and L2.

Polsinelli et al. (2020) tuned these three sgdm hyperparameters with Matlab's ``bayesopt`` (30 evaluations,
20 epochs each). The paper does not print its bounds, so ours are documented defaults chosen to contain the
values it reports (Table 3, experiment 4: lr 0.007132, momentum 0.87589, L2 9.532e-07):

    learning rate  [1e-4, 1e-1]   log-uniform   (experiment 4; experiments 1-3: see LR_BOUNDS)
    momentum       [0.5, 0.99]    uniform
    L2             [1e-10, 1e-2]  log-uniform   (Matlab's example range for L2Regularization)

The learning rate's range differs per network because sgdm is stable only below a bound set by the
classifier's input (``examples/classifier_collapse.py``: lr < 2 (1 + momentum) / (0.5 lambda), lambda the largest
eigenvalue of E[g g^T] over the pooled conv10 inputs g). Measured at 128 px on COVID-CT with momentum 0.9:
2.0e-3 for network 1, 5.8e-5 for network 2 (its bypass sums grow the features), 4.8e-5 for network 3 (ImageNet
features), 1.1e-2 for the proposed CNN (batch norm). A range of [1e-4, 1e-1] for all lies wholly above the
bound of networks 2 and 3: every trial of theirs collapsed to a constant output in our first quick run. So
each range spans three decades with the measured bound in its upper part.

Tests: ``tests/search/test_space.py``.
"""
from __future__ import annotations

import dataclasses

from ..train.paper import NETWORKS

# experiment number -> network name (the paper's numbering, Tables 3-5)
EXPERIMENTS = NETWORKS                       # experiment number -> network name (the paper's numbering)
# experiment number -> default learning-rate bounds (see above for why they differ)
LR_BOUNDS = {1: (1e-5, 1e-2), 2: (1e-6, 1e-3), 3: (1e-6, 1e-3), 4: (1e-4, 1e-1)}
PARAM_NAMES = ("lr", "momentum", "l2")


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """Bounds ``(low, high)`` of each hyperparameter; ``lr`` and ``l2`` are searched on a log scale."""
    lr: tuple[float, float] = (1e-4, 1e-1)
    momentum: tuple[float, float] = (0.5, 0.99)
    l2: tuple[float, float] = (1e-10, 1e-2)

    def __post_init__(self):
        for name in PARAM_NAMES:
            lo, hi = getattr(self, name)
            if not lo < hi:
                raise ValueError(f"search space: {name} bounds must satisfy low < high, got ({lo}, {hi})")
            if name in ("lr", "l2") and lo <= 0:
                raise ValueError(f"search space: {name} is log-uniform, its low bound must be > 0, got {lo}")
            if name == "momentum" and not (0 <= lo and hi < 1):
                raise ValueError(f"search space: momentum bounds must lie in [0, 1), got ({lo}, {hi})")

    def dimensions(self) -> list:
        """The skopt dimensions, in the order of ``PARAM_NAMES``."""
        from skopt.space import Real
        return [Real(*self.lr, prior="log-uniform", name="lr"),
                Real(*self.momentum, prior="uniform", name="momentum"),
                Real(*self.l2, prior="log-uniform", name="l2")]

    def contains(self, params: dict) -> bool:
        return all(getattr(self, k)[0] <= params[k] <= getattr(self, k)[1] for k in PARAM_NAMES)

    def as_dict(self) -> dict:
        return {k: list(getattr(self, k)) for k in PARAM_NAMES}


def default_space(experiment: int) -> SearchSpace:
    """The default search space of ``experiment`` (1-4): ``LR_BOUNDS[experiment]``, the common momentum and L2."""
    if experiment not in LR_BOUNDS:
        raise ValueError(f"unknown experiment {experiment!r}; expected one of {list(LR_BOUNDS)}")
    return SearchSpace(lr=LR_BOUNDS[experiment])


def to_params(x) -> dict:
    """A skopt point ``[lr, momentum, l2]`` as a dict of plain floats."""
    return {k: float(v) for k, v in zip(PARAM_NAMES, x)}


def to_point(params: dict) -> list[float]:
    return [float(params[k]) for k in PARAM_NAMES]
