"""Fit the liveness fusion (:class:`faceplane.liveness.fusion.Fusion`) on one part of the data.

Logistic regression by Newton's method (IRLS) with an L2 penalty on the weights (not the bias):
with a handful of real presentations and a few hundred synthetic ones, an unpenalised fit would put
all its trust in whichever signal separates the synthetic generator best. Signals are standardised
for the fit and the weights are mapped back, so the penalty treats every signal alike. Classes are
weighted to count equally (there are more attack than bona fide presentations).

Each weight may be given a sign (``signs``): attack evidence may only argue for "attack", a model's
live logit only for "live". A fit that gives a signal the wrong sign has learned something about the
generator, not about attacks; such a signal is dropped (weight 0) and the rest refitted, one at a time.

The threshold is chosen on the same fitting data: the largest ``p(live)`` threshold at which at most
``bpcer`` of the fitting bona fide presentations are refused. Nothing here looks at the data the
fusion is reported on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from faceplane.liveness.fusion import Fusion


def _matrix(rows: Sequence[Mapping[str, float | None]], names: Sequence[str]) -> tuple[np.ndarray, dict[str, float]]:
    raw = np.array([[np.nan if r.get(n) is None else float(r[n]) for n in names] for r in rows], np.float64)  # type: ignore[arg-type]
    impute = {}
    for j, n in enumerate(names):
        col = raw[:, j]
        mean = float(np.nanmean(col)) if np.isfinite(col).any() else 0.0
        impute[n] = mean
        col[~np.isfinite(col)] = mean
    return raw, impute


def fit_fusion(
    rows: Sequence[Mapping[str, float | None]],
    live: Sequence[bool],
    names: Sequence[str],
    *,
    l2: float = 1.0,
    bpcer: float = 0.05,
    fitted_on: str = "",
    signs: Mapping[str, int] | None = None,
) -> Fusion:
    """A :class:`Fusion` over ``names`` fitted to ``rows`` (signal dicts) labelled ``live``.

    ``signs``: name -> +1 (weight >= 0) or -1 (weight <= 0); names not given are free.
    """
    x, impute = _matrix(rows, names)
    y = np.asarray(live, np.float64)
    if y.min() == y.max():
        raise ValueError("fitting the fusion needs both bona fide and attack presentations")
    sign = np.array([(signs or {}).get(n, 0) for n in names], np.float64)
    active = np.ones(len(names), bool)
    while True:
        weights, bias = _irls(x, y, active, l2)
        wrong = np.flatnonzero(active & (weights * sign < 0))
        if not len(wrong):
            break
        active[wrong[np.argmax(np.abs(weights[wrong] * x[:, wrong].std(axis=0)))]] = False
    scores = 1 / (1 + np.exp(-(x @ weights + bias)))
    bona = np.sort(scores[y == 1])
    k = int(np.floor(bpcer * len(bona)))  # refuse at most k of the fitting bona fide presentations
    threshold = float(bona[k]) if k < len(bona) else float(bona[-1])
    threshold = float(np.clip(threshold, 1e-4, 1 - 1e-4))
    attacks = scores[y == 0]
    meta: dict[str, object] = {
        "n_bona": int(y.sum()),
        "n_attack": int((1 - y).sum()),
        "l2": l2,
        "target_bpcer": bpcer,
        "fit_bpcer": float(np.mean(scores[y == 1] < threshold)),
        "fit_apcer": float(np.mean(attacks >= threshold)),
        "dropped_for_sign": [n for n, a in zip(names, active, strict=True) if not a],
    }
    return Fusion(
        weights={n: float(w) for n, w in zip(names, weights, strict=True)},
        bias=bias,
        impute=impute,
        threshold=threshold,
        fitted_on=fitted_on,
        meta=meta,
    )


def _irls(
    x: np.ndarray, y: np.ndarray, active: np.ndarray, l2: float, iterations: int = 50
) -> tuple[np.ndarray, float]:
    """Class-balanced, L2-penalised logistic regression on the ``active`` columns of ``x``: (weights, bias)."""
    cols = np.flatnonzero(active)
    mu, sd = x[:, cols].mean(axis=0), x[:, cols].std(axis=0)
    sd[sd < 1e-9] = 1.0
    z = np.hstack([(x[:, cols] - mu) / sd, np.ones((len(x), 1))])
    sample_w = np.where(y == 1, 0.5 / y.sum(), 0.5 / (1 - y).sum()) * len(y)
    beta = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(z @ beta, -30, 30)))
        grad = z.T @ (sample_w * (p - y)) + penalty * beta
        hess = (z * (sample_w * p * (1 - p))[:, None]).T @ z + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    weights = np.zeros(x.shape[1])
    weights[cols] = beta[:-1] / sd
    return weights, float(beta[-1] - (beta[:-1] * mu / sd).sum())
