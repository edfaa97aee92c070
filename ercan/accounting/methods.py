"""IPCC 2006 GL Vol. 4 methods as plain functions on numbers or arrays (Ch. 2, Eq. 2.4, 2.5, 2.8).

Sign convention of inventories: a stock gain is a removal, reported as negative emissions.
"""

from __future__ import annotations

import numpy as np

from ercan.units import C_TO_CO2


def stock_difference(stock_1, stock_2, year_1, year_2):
    """ΔC = (C_t2 − C_t1) / (t2 − t1), in stock units per year (Eq. 2.5)."""
    return (np.asarray(stock_2, float) - stock_1) / (np.asarray(year_2, float) - year_1)


def gain_loss(gains, losses):
    """ΔC = ΔC_G − ΔC_L (Eq. 2.4): both given as positive annual amounts."""
    return np.asarray(gains, float) - losses


def net_emissions(stock_change):
    """Net CO2 emissions from an annual carbon stock change: −ΔC × 44/12 (a gain is a removal)."""
    return -np.asarray(stock_change, float) * C_TO_CO2


def biomass_carbon(growing_stock, bcef, root_to_shoot, carbon_fraction):
    """Biomass carbon from growing stock volume: C = V × BCEF × (1 + R) × CF (Eq. 2.8, with
    BCEF_S taking volume straight to above-ground biomass)."""
    return np.asarray(growing_stock, float) * bcef * (1 + np.asarray(root_to_shoot, float)) * carbon_fraction
