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
from synthapt.spatial.profiles import plateau_composition

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


def _erf_step(d: np.ndarray, c_out: float, c_in: float, d0: float, sigma: float) -> np.ndarray:
    return c_out + (c_in - c_out) * 0.5 * (1.0 + erf((d - d0) / (math.sqrt(2.0) * sigma)))


FIT_MIN_BINS = 6
"""Fewest profile bins (with ``min_ions`` ions) an interface fit accepts."""
FIT_MIN_CONTRAST_Z = 5.0
"""Fewest standard errors by which the composition must change across the fitted interface
(pooled counts on either side); below, the profile has no step the fit could place."""
FIT_MIN_PLATEAU_BINS = 1
"""Bins each plateau needs beyond two sigmas of the widest allowed step (and one bin) from the
50 % crossing."""
FIT_MAX_POSITION_ERROR = 0.5
"""Largest standard error (nm) of the fitted position that is still reported."""
FIT_WIDTH_DELTA_CHI2 = 4.0
"""Widths whose best fit is within this chi-square of the best (2 standard deviations) are
allowed (``width_low`` .. ``width_high``); when they reach from 0 to one bin, the width is NaN."""
FIT_WIDTH_GRID = 16
"""Fixed widths tried (log grid) before the free fit."""


def _fit_failure(reason: str) -> dict[str, Any]:
    return {"position": float("nan"), "width": float("nan"), "c_matrix": float("nan"),
            "c_precipitate": float("nan"), "position_error": float("nan"), "reason": reason,
            "width_reason": reason, "width_low": float("nan"), "width_high": float("nan")}


def _width_profile(x: np.ndarray, y: np.ndarray, sigma: np.ndarray, window: float
                   ) -> tuple[np.ndarray, np.ndarray, list]:
    """(step sigmas (W,) nm, best chi-square at each (W,), best (c_m, c_p, d0) at each): the erf
    step with its width held fixed on a log grid from 0.01 nm to window / 2, its position on a
    grid of quarter bins over the data, and its plateaus by weighted linear least squares (exact
    for a given width and position). This finds the global minimum that a single local fit
    misses (a sharp step's position is a flat objective between bins) and the range of widths
    the data allow."""
    widths = np.geomspace(0.01, 0.5 * window, FIT_WIDTH_GRID)
    step = float(np.min(np.diff(x)))
    positions = np.arange(x.min(), x.max() + 0.125 * step, 0.25 * step)
    w = 1.0 / sigma ** 2
    g = 0.5 * (1.0 + erf((x[None, None, :] - positions[:, None, None])
                         / (math.sqrt(2.0) * widths[None, :, None])))  # (D, W, B)
    h = 1.0 - g
    # normal equations of y = c_m h + c_p g, weights w
    a11, a12, a22 = (w * h * h).sum(-1), (w * h * g).sum(-1), (w * g * g).sum(-1)
    b1, b2 = (w * h * y).sum(-1), (w * g * y).sum(-1)
    det = a11 * a22 - a12 * a12
    with np.errstate(invalid="ignore", divide="ignore"):
        c_m = np.where(det > 0, (a22 * b1 - a12 * b2) / det, np.nan)
        c_p = np.where(det > 0, (a11 * b2 - a12 * b1) / det, np.nan)
    residual = y - (c_m[..., None] * h + c_p[..., None] * g)
    chi2 = np.nan_to_num((w * residual ** 2).sum(-1), nan=np.inf)  # (D, W)
    chi2[(c_m < -1) | (c_m > 101) | (c_p < -1) | (c_p > 101)] = np.inf  # not a composition
    best_d = np.argmin(chi2, axis=0)
    cols = np.arange(len(widths))
    fitted = [(float(c_m[d, k]), float(c_p[d, k]), float(positions[d]))
              for k, d in zip(cols, best_d)]
    return widths, chi2[best_d, cols], fitted


def fit_interface(profile: Profile, element: str, window: float = 4.0,
                  min_ions: int = 10) -> dict[str, Any]:
    """Fit c(d) = c_m + (c_p - c_m) * (1 + erf((d - d0) / (sqrt2 sigma))) / 2 to ``element``.

    Returns position d0 (nm, the 50 % crossing), its standard error ``position_error`` (nm; for
    a step sharper than the bins, bin / sqrt(12)),
    width (nm, 10-90 % = 2.563 sigma), the fitted plateau values c_matrix, c_precipitate (at.%)
    and ``reason`` ("" for a good fit; ``width_reason`` likewise for the width alone, NaN when
    widths from 0 to one bin fit equally well; ``width_low`` / ``width_high``: the widths
    allowed within ``FIT_WIDTH_DELTA_CHI2``). A fit that cannot be trusted gives NaN values and the
    reason: fewer than ``FIT_MIN_BINS`` bins; the fit did not converge; a plateau missing on one
    side (fewer than ``FIT_MIN_PLATEAU_BINS`` bins beyond 2 sigma of the widest allowed step
    from the crossing: a one-sided
    profile or a step at the edge of the window); no step (the composition changes across the
    crossing by less than ``FIT_MIN_CONTRAST_Z`` standard errors of the pooled counts: a flat or
    too noisy profile); a step wider than the window; a position error above
    ``FIT_MAX_POSITION_ERROR`` nm.
    """
    x, y, _ = _curve(profile, element, min_ions)
    use = np.abs(x) <= window
    col = profile.column(element)
    ok_bins = np.flatnonzero(profile.totals >= min_ions)[use]
    x, y = x[use], y[use]
    if len(x) < FIT_MIN_BINS:
        return _fit_failure(f"{len(x)} bins with >= {min_ions} ions within +-{window:g} nm "
                            f"(need {FIT_MIN_BINS})")
    # counting error with the rule-of-succession estimate (k + 1) / (n + 2): a bin with no (or
    # only) atoms of the element would otherwise claim zero error and pull the fit onto itself
    k, n = profile.counts[ok_bins, col], profile.totals[ok_bins]
    p_hat = (k + 1.0) / (n + 2.0)
    sigma = np.maximum(100.0 * np.sqrt(p_hat * (1.0 - p_hat) / n), 0.5)
    step = float(np.min(np.diff(x)))
    widths, chi2_profile, starts = _width_profile(x, y, sigma, window)
    best = int(np.argmin(chi2_profile))
    try:
        lower, upper = np.array([-1, -1, -window, 1e-3]), np.array([101, 101, window, 2 * window])
        start = np.clip([*starts[best], widths[best]], lower + 1e-9, upper - 1e-9)
        popt, pcov = curve_fit(_erf_step, x, y, p0=start, sigma=sigma, bounds=(lower, upper),
                               maxfev=5000)
    except (RuntimeError, ValueError) as exc:
        return _fit_failure(f"the erf fit did not converge ({str(exc).splitlines()[0][:60]})")
    if np.sum(((y - _erf_step(x, *popt)) / sigma) ** 2) > chi2_profile[best]:
        popt = np.array([*starts[best], widths[best]])  # the free fit stopped in a local minimum
    d0, width_sigma = float(popt[2]), float(popt[3])
    chi2 = float(np.sum(((y - _erf_step(x, *popt)) / sigma) ** 2))
    allowed = widths[chi2_profile - min(chi2, chi2_profile.min()) <= FIT_WIDTH_DELTA_CHI2]
    low = float(allowed.min()) if len(allowed) else width_sigma
    high = float(allowed.max()) if len(allowed) else width_sigma
    margin = max(2.0 * high, 2.0 * width_sigma, step)  # beyond every width the data allow
    plateau_bins = (int(np.sum(x < d0 - margin)), int(np.sum(x > d0 + margin)))
    if min(plateau_bins) < FIT_MIN_PLATEAU_BINS:
        side = "matrix" if plateau_bins[0] < FIT_MIN_PLATEAU_BINS else "precipitate"
        return _fit_failure(f"no {side} plateau: the step at {d0:+.2f} nm has "
                            f"{min(plateau_bins)} bins beyond it on that side within "
                            f"+-{window:g} nm (one-sided profile or step at the window edge)")
    counts, totals = k, n
    below, above = x < d0, x > d0
    if below.any() and above.any():
        c_below = counts[below].sum() / totals[below].sum()
        c_above = counts[above].sum() / totals[above].sum()
        se = math.sqrt(c_below * (1 - c_below) / totals[below].sum()
                       + c_above * (1 - c_above) / totals[above].sum())
        z = abs(c_above - c_below) / se if se > 0 else (math.inf if c_above != c_below else 0.0)
    else:
        z = 0.0
    if z < FIT_MIN_CONTRAST_Z:
        return _fit_failure(f"no step: the composition changes by {z:.1f} standard errors "
                            f"across the fitted crossing (need {FIT_MIN_CONTRAST_Z:g})")
    if width_sigma >= 0.5 * window:
        return _fit_failure(f"the step (sigma {width_sigma:.2f} nm) is wider than the window")
    position_error = float(np.sqrt(pcov[2, 2])) if np.isfinite(pcov[2, 2]) else float("inf")
    if width_sigma < 0.5 * step:  # a step sharper than the bins: d0 anywhere between two
        position_error = step / math.sqrt(12.0)  # bin centres fits equally well
    if not position_error <= FIT_MAX_POSITION_ERROR:
        return _fit_failure(f"position undetermined (standard error {position_error:.2f} nm)")
    width, width_reason = WIDTH_PER_SIGMA * width_sigma, ""
    if low <= widths[0] and high >= step:
        width = float("nan")
        width_reason = (f"width not resolved: 10-90 % widths from 0 to "
                        f"{WIDTH_PER_SIGMA * high:.2f} nm fit within delta chi2 "
                        f"{FIT_WIDTH_DELTA_CHI2:g}")
    return {"position": d0, "width": width,
            "c_matrix": float(popt[0]), "c_precipitate": float(popt[1]),
            "position_error": position_error, "reason": "", "width_reason": width_reason,
            "width_low": WIDTH_PER_SIGMA * min(low, width_sigma),
            "width_high": WIDTH_PER_SIGMA * max(high, width_sigma)}


def partitioning_element(truth: Profile, elements: list[str], params) -> str:
    """The element with the largest precipitate-matrix plateau contrast in the true profile
    (ties, as in a binary alloy, go to the element with the lower matrix concentration)."""
    if params.element:
        match = {el.lower(): el for el in elements}.get(params.element.strip().lower())
        if match is None:
            raise ConfigError(f"score.element: {params.element!r} not among {elements} (any letter case)")
        return match
    plateau = plateau_composition(truth, params.plateau)
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
    rec_plateau = plateau_composition(recovered, params.plateau)
    true_plateau = plateau_composition(truth, params.plateau)
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
    out["interface_fit_failure"] = "; ".join(
        f"{which}: {fit['width_reason']}" for which, fit in (("recovered", fit_r), ("truth", fit_t))
        if fit["width_reason"])
    out["interface_width"] = fit_r["width"]
    out["interface_width_truth"] = fit_t["width"]
    out["interface_width_error"] = abs(fit_r["width"] - fit_t["width"])
    out["interface_shift"] = fit_r["position"] - fit_t["position"]
    return out
