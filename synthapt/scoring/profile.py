"""Comparison of a recovered composition profile (proxigram) with the ground-truth profile.

Concentrations in at.% per element, distances in nm (positive inside the precipitate): RMSE on
common bin centres within a window, plateau compositions away from the interface, and the
10-90 % width and 50 % position of an error function fitted to the partitioning element.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.ndimage import convolve1d
from scipy.optimize import curve_fit
from scipy.special import erf, erfinv

from synthapt.data import Profile
from synthapt.errors import ConfigError, SynthaptError

WIDTH_PER_SIGMA = 2.0 * math.sqrt(2.0) * float(erfinv(0.8))
"""10-90 % width of an error-function profile in units of its sigma (2.563)."""


def _curve(profile: Profile, element: str, min_ions: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centres nm, concentration at.%, 1-sigma error at.%) of ``element`` in bins with ions."""
    col = profile.column(element)
    ok = profile.totals >= min_ions
    return profile.centers[ok], profile.concentration[ok, col], profile.error[ok, col]


def common_elements(recovered: Profile, truth: Profile) -> list[str]:
    names = [n for n in truth.species_names if n in recovered.species_names]
    if not names:
        raise SynthaptError(
            f"profiles: no element in common (recovered {list(recovered.species_names)}, "
            f"truth {list(truth.species_names)})")
    return names


def smoothed(profile: Profile, width: float) -> Profile:
    """``profile`` with each bin's counts summed over a moving window of ``width`` nm (an odd
    number of bins, zero outside): a counts-weighted running average of the concentration."""
    step = float(profile.edges[1] - profile.edges[0]) if len(profile.edges) > 1 else 0.0
    k = int(round(width / step)) if step > 0 else 1
    if k <= 1:
        return profile
    k += 1 - k % 2
    counts = convolve1d(profile.counts, np.ones(k, dtype=np.int64), axis=0, mode="constant")
    return Profile(profile.edges, counts, profile.species_names)


def profile_rmse(recovered: Profile, truth: Profile, element: str, window: float = 3.0,
                 min_ions: int = 10, smoothing: float = 0.0) -> float:
    """RMSE (at.%) of ``element`` between two profiles at the recovered bin centres within
    +-``window`` nm; the true profile is linearly interpolated there (never extrapolated).

    ``smoothing`` (nm): both profiles are first averaged over a moving window of that width
    (``smoothed``). The true profile of an ordered precipitate resolves atomic planes (L1_2
    Ni3Al along <001>: planes of 0 and 50 at.% Al, 0.178 nm apart) that no proxigram resolves;
    without averaging, that plane structure, not the interface, would dominate the RMSE.
    """
    if smoothing > 0:
        recovered, truth = smoothed(recovered, smoothing), smoothed(truth, smoothing)
    x, y, _ = _curve(recovered, element, min_ions)
    tx, ty, _ = _curve(truth, element, min_ions)
    if len(tx) < 2:
        return float("nan")
    use = (np.abs(x) <= window) & (x >= tx[0]) & (x <= tx[-1])
    if not use.any():
        return float("nan")
    diff = y[use] - np.interp(x[use], tx, ty)
    return float(np.sqrt(np.mean(diff ** 2)))


def plateau_composition(profile: Profile, plateau_min: float = 1.5,
                        plateau_max: float = 5.0) -> dict[str, dict[str, float]]:
    """Mean at.% of each element in the ions with plateau_min <= |d| <= plateau_max nm.

    Returns {"precipitate": {El: at.%}, "matrix": {El: at.%}} (d > 0 precipitate side);
    NaN where a side has no ions.
    """
    c = profile.centers
    out = {}
    for phase, side in (("precipitate", (c >= plateau_min) & (c <= plateau_max)),
                        ("matrix", (c <= -plateau_min) & (c >= -plateau_max))):
        counts = profile.counts[side].sum(axis=0)
        total = counts.sum()
        out[phase] = {name: (100.0 * float(n) / total if total else float("nan"))
                      for name, n in zip(profile.species_names, counts)}
    return out


def _erf_step(d: np.ndarray, c_out: float, c_in: float, d0: float, sigma: float) -> np.ndarray:
    return c_out + (c_in - c_out) * 0.5 * (1.0 + erf((d - d0) / (math.sqrt(2.0) * sigma)))


def fit_interface(profile: Profile, element: str, window: float = 4.0,
                  min_ions: int = 10) -> dict[str, float]:
    """Fit c(d) = c_m + (c_p - c_m) * (1 + erf((d - d0) / (sqrt2 sigma))) / 2 to ``element``.

    Returns position d0 (nm, the 50 % crossing), width (nm, 10-90 % = 2.563 sigma), and the
    fitted plateau values c_matrix, c_precipitate (at.%). NaN values if the fit fails.
    """
    x, y, e = _curve(profile, element, min_ions)
    use = np.abs(x) <= window
    x, y, e = x[use], y[use], e[use]
    nan = {"position": float("nan"), "width": float("nan"),
           "c_matrix": float("nan"), "c_precipitate": float("nan")}
    if len(x) < 5:
        return nan
    c_out = float(np.mean(y[x < 0])) if (x < 0).any() else float(y.min())
    c_in = float(np.mean(y[x > 0])) if (x > 0).any() else float(y.max())
    sigma = np.maximum(e, 0.5)  # floor: empty-ish and pure bins have ~0 counting error
    try:
        popt, _ = curve_fit(_erf_step, x, y, p0=(c_out, c_in, 0.0, 0.3), sigma=sigma,
                            bounds=([-1, -1, -window, 1e-3], [101, 101, window, 2 * window]),
                            maxfev=5000)
    except (RuntimeError, ValueError):
        return nan
    return {"position": float(popt[2]), "width": WIDTH_PER_SIGMA * float(popt[3]),
            "c_matrix": float(popt[0]), "c_precipitate": float(popt[1])}


def partitioning_element(truth: Profile, elements: list[str], params) -> str:
    """The element with the largest precipitate-matrix plateau contrast in the true profile
    (ties, as in a binary alloy, go to the element with the lower matrix concentration)."""
    if params.element:
        if params.element not in elements:
            raise ConfigError(f"score.element: {params.element!r} not among {elements}")
        return params.element
    plateau = plateau_composition(truth, params.plateau_min, params.plateau_max)
    def key(el: str) -> tuple[float, float]:
        contrast = abs(np.nan_to_num(plateau["precipitate"][el] - plateau["matrix"][el]))
        return -round(float(contrast), 6), float(np.nan_to_num(plateau["matrix"][el]))

    return min(elements, key=key)


def profile_scores(recovered: Profile, truth: Profile, params) -> dict[str, Any]:
    """All profile metrics of ``recovered`` against ``truth`` as a flat dict (see
    ``synthapt.scoring.metrics.METRICS``); ``params`` is a ``synthapt.scoring.metrics.ScoreParams``."""
    elements = common_elements(recovered, truth)
    out: dict[str, Any] = {}
    rmse = {el: profile_rmse(recovered, truth, el, params.profile_window, params.min_bin_ions,
                         params.profile_smoothing)
            for el in elements}
    for el, v in rmse.items():
        out[f"profile_rmse_{el}"] = v
    out["profile_rmse"] = float(np.nanmax(list(rmse.values()))) if not all(
        np.isnan(list(rmse.values()))) else float("nan")
    rec_plateau = plateau_composition(recovered, params.plateau_min, params.plateau_max)
    true_plateau = plateau_composition(truth, params.plateau_min, params.plateau_max)
    errors = []
    for phase in ("precipitate", "matrix"):
        for el in elements:
            r, t = rec_plateau[phase][el], true_plateau[phase][el]
            out[f"plateau_{phase}_{el}"] = r
            out[f"plateau_{phase}_{el}_truth"] = t
            out[f"plateau_error_{phase}_{el}"] = abs(r - t)
            errors.append(abs(r - t))
    out["plateau_error"] = float(np.nanmax(errors)) if not np.isnan(errors).all() else float("nan")
    element = partitioning_element(truth, elements, params)
    fit_r = fit_interface(recovered, element, params.fit_window, params.min_bin_ions)
    fit_t = fit_interface(truth, element, params.fit_window, params.min_bin_ions)
    out["interface_element"] = element
    out["interface_width"] = fit_r["width"]
    out["interface_width_truth"] = fit_t["width"]
    out["interface_width_error"] = abs(fit_r["width"] - fit_t["width"])
    out["interface_shift"] = fit_r["position"] - fit_t["position"]
    return out
