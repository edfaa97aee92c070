"""Uncertainty after IPCC 2006 GL Vol. 1 Ch. 3: Approach 1 (error propagation) and Approach 2
(Monte Carlo).

An uncertainty U is the half-width of the 95 % confidence interval as a fraction of the value,
as in the schema's `uncertainty` column. Inputs are taken as normal, so σ = U·|x| / 1.96.
Where a source gives no uncertainty, `DEFAULTS` (uncertainty_defaults.csv, each with its reason)
is used and the result says so (`uncertainty_basis = default`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal
DEFAULTS_FILE = Path(__file__).with_name("uncertainty_defaults.csv")
DRAWS = 2_000  # per estimate; percentiles of 2,000 draws are stable to about 1 % here
SEED = 20261121  # recorded in every carbon_fluxes manifest; the same seed gives the same intervals


@cache
def defaults() -> dict[str, float]:
    table = pd.read_csv(DEFAULTS_FILE)
    return dict(zip(table["parameter"], table["value"].astype(float)))


def combined_basis(*bases) -> np.ndarray:
    """The basis of a result computed from terms with these `uncertainty_basis` values (arrays or
    Series of one length): `default` when any term's uncertainty was a default, else `reported`."""
    is_default = np.logical_or.reduce([np.asarray(b, dtype=object) == "default" for b in bases])
    return np.where(is_default, "default", "reported")


def of_sum(values, uncertainties) -> np.ndarray:
    """Approach 1, IPCC Eq. 3.2: U_total = √Σ(U_i·x_i)² / |Σx_i| (uncorrelated terms).

    `values`, `uncertainties`: arrays with the terms along the last axis."""
    values, uncertainties = np.asarray(values, float), np.asarray(uncertainties, float)
    total = values.sum(axis=-1)
    spread = np.sqrt(((uncertainties * values) ** 2).sum(axis=-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return spread / np.abs(total)


def of_product(uncertainties) -> np.ndarray:
    """Approach 1, IPCC Eq. 3.1: U_total = √ΣU_i² for a product of uncorrelated factors."""
    return np.sqrt((np.asarray(uncertainties, float) ** 2).sum(axis=-1))


def of_difference(x1, u1, x2, u2, correlation: float) -> np.ndarray:
    """Approach 1 for x2 − x1 with correlated terms: σ² = σ1² + σ2² − 2ρσ1σ2 (as a fraction of
    |x2 − x1|). With ρ = 0 this is Eq. 3.2 for a difference."""
    s1, s2 = np.abs(np.asarray(u1, float) * x1), np.abs(np.asarray(u2, float) * x2)
    spread = np.sqrt(np.maximum(s1**2 + s2**2 - 2 * correlation * s1 * s2, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return spread / np.abs(np.asarray(x2, float) - x1)


def monte_carlo(
    function: Callable[..., np.ndarray],
    inputs: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    correlation: Mapping[tuple[str, str], float] | None = None,
    seed: int = SEED,
    draws: int = DRAWS,
) -> tuple[np.ndarray, np.ndarray]:
    """Approach 2: the 2.5th and 97.5th percentiles of `function(**samples)`.

    `inputs`: name → (values, uncertainties), arrays of one length n (one item per estimate).
    Every input is drawn normal, all items at once (an (n, draws) array per input); `correlation`
    couples pairs of inputs item by item. The generator is seeded, so the same seed and inputs give
    the same interval to the last digit."""
    names = list(inputs)
    rng = np.random.default_rng(seed)
    n = len(np.asarray(inputs[names[0]][0]))
    matrix = np.eye(len(names))
    for (a, b), rho in (correlation or {}).items():
        i, j = names.index(a), names.index(b)
        matrix[i, j] = matrix[j, i] = rho
    standard = rng.standard_normal((n, draws, len(names))) @ np.linalg.cholesky(matrix).T
    samples = {}
    for k, name in enumerate(names):
        values, uncertainties = (np.asarray(a, float) for a in inputs[name])
        sigma = np.abs(uncertainties * values) / Z95
        samples[name] = values[:, None] + sigma[:, None] * standard[:, :, k]
    results = function(**samples)
    low, high = np.percentile(results, [2.5, 97.5], axis=1)
    return low, high
