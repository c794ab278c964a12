"""L-BFGS: limited-memory quasi-Newton steps over all parameters as one flat vector.

Each ``step(closure)`` runs up to ``max_iter`` iterations. An iteration turns the gradient into a
search direction with the two-loop recursion over the last ``history_size`` curvature pairs
(``s`` = step taken, ``y`` = change of gradient, kept only when ``y.s`` is clearly positive), scales
the first iteration's step by the gradient's 1-norm, and then either takes a fixed step of ``lr`` or
searches along the direction for a point satisfying the strong Wolfe conditions (bracketing, then
zooming with safeguarded cubic interpolation). The state lives on the first parameter under the keys
PyTorch uses, so state dicts carry over.

Scalars (dot products, step lengths) stay 0-dim arrays of the parameters' dtype, so a float32 model
rounds as PyTorch's does; losses are Python floats.
"""
from __future__ import annotations

from typing import Any, Callable

from disttorch._tensor import Tensor
from disttorch.autograd.grad_mode import enable_grad

from .optimizer import Optimizer, _check_lr, _scalar

__all__ = ["LBFGS"]


def _cubic_min(x1: Any, f1: Any, g1: Any, x2: Any, f2: Any, g2: Any, xp: Any, bounds: tuple | None = None) -> Any:
    """Minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clipped to ``bounds``
    (by default the interval between the points); the midpoint when the cubic has no minimum."""
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    a = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = a ** 2 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    b = xp.sqrt(disc)
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + b - a) / (g2 - g1 + 2 * b))
    else:
        x = x1 - (x1 - x2) * ((g1 + b - a) / (g1 - g2 + 2 * b))
    return min(max(x, lo), hi)


def _strong_wolfe(evaluate: Callable, xp: Any, t: Any, d: Any, f: float, g: Any, gtd: Any, c1: float = 1e-4,
                  c2: float = 0.9, tolerance_change: float = 1e-9, max_ls: int = 25) -> tuple:
    """Search along ``d`` from loss ``f`` (gradient ``g``, slope ``gtd``) starting at step ``t``.

    Returns ``(loss, gradient, step, evaluations)`` at the best point found."""
    d_max = xp.abs(d).max()
    f_new, g_new = evaluate(t, d)
    evals = 1
    gtd_new = xp.dot(g_new, d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    it = 0
    # phase 1: grow the step until an interval is known to contain an acceptable point
    while it < max_ls:
        if f_new > f + c1 * t * gtd or (it > 1 and f_new >= f_prev):
            pts, fs, gs, slopes = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            pts, fs, gs = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            pts, fs, gs, slopes = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        t_next = _cubic_min(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, xp,
                            bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = evaluate(t, d)
        evals += 1
        gtd_new = xp.dot(g_new, d)
        it += 1
    if it == max_ls:
        pts, fs, gs = [0, t], [f, f_new], [g, g_new]
    # phase 2: shrink the interval [pts[lo], pts[hi]] around a point meeting both conditions
    stuck = False
    lo, hi = (0, 1) if fs[0] <= fs[-1] else (1, 0)
    while not done and it < max_ls:
        if abs(pts[1] - pts[0]) * d_max < tolerance_change:
            break
        t = _cubic_min(pts[0], fs[0], slopes[0], pts[1], fs[1], slopes[1], xp)
        top, bottom = max(pts), min(pts)
        margin = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < margin:
            # too close to an end: after a second time (or outside the interval) move in by the margin
            if stuck or t >= top or t <= bottom:
                t = top - margin if abs(t - top) < abs(t - bottom) else bottom + margin
                stuck = False
            else:
                stuck = True
        else:
            stuck = False
        f_new, g_new = evaluate(t, d)
        evals += 1
        gtd_new = xp.dot(g_new, d)
        it += 1
        if f_new > f + c1 * t * gtd or f_new >= fs[lo]:
            pts[hi], fs[hi], gs[hi], slopes[hi] = t, f_new, g_new, gtd_new
            lo, hi = (0, 1) if fs[0] <= fs[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (pts[hi] - pts[lo]) >= 0:
                pts[hi], fs[hi], gs[hi], slopes[hi] = pts[lo], fs[lo], gs[lo], slopes[lo]
            pts[lo], fs[lo], gs[lo], slopes[lo] = t, f_new, g_new, gtd_new
    return fs[lo], gs[lo], pts[lo], evals


def _raw(value: Any) -> Any:
    """State value -> what the algorithm computes with (arrays inside Tensors, lists element-wise)."""
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, list):
        return [_raw(v) for v in value]
    return value


def _wrapped(value: Any, xp: Any) -> Any:
    """Algorithm value -> state value: arrays (and array scalars) become Tensors, Python numbers stay."""
    if value is None or type(value) in (bool, int, float):
        return value
    if isinstance(value, list):
        return [_wrapped(v, xp) for v in value]
    return Tensor._from_array(xp.asarray(value))


class LBFGS(Optimizer):
    """L-BFGS with PyTorch's arguments, iteration structure, stopping rules and state layout.

    One parameter group only; all parameters on one device. ``step`` requires a closure that
    re-evaluates the model (zeroing and recomputing gradients) and returns the loss.
    """

    def __init__(self, params: Any, lr: float | Tensor = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None) -> None:
        _check_lr(lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = {"lr": lr, "max_iter": max_iter, "max_eval": max_eval, "tolerance_grad": tolerance_grad,
                    "tolerance_change": tolerance_change, "history_size": history_size,
                    "line_search_fn": line_search_fn}
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._params = self.param_groups[0]["params"]

    # -- the parameters as one flat real vector ----------------------------------------------------
    @staticmethod
    def _real(arr: Any) -> Any:
        return arr.view(arr.real.dtype) if arr.dtype.kind == "c" else arr

    def _flat_grad(self) -> Any:
        xp = self._params[0]._xp
        parts = []
        for p in self._params:
            if p._grad is None:
                parts.append(xp.zeros(p._data.size * (2 if p._data.dtype.kind == "c" else 1),
                                      dtype=self._real(p._data).dtype))
            else:
                g = p._grad._data
                if g.dtype.kind == "c":
                    g = xp.ascontiguousarray(g).view(g.real.dtype)
                parts.append(g.reshape(-1))
        return xp.concatenate(parts)

    def _move(self, t: Any, d: Any) -> None:
        """params += t * d."""
        start = 0
        for p in self._params:
            arr = self._real(p._data)
            stop = start + arr.size
            arr += (d[start:stop] * t).reshape(arr.shape)
            p._vc[0] += 1
            start = stop

    def _evaluate(self, closure: Callable, t: Any, d: Any) -> tuple[float, Any]:
        """Loss and flat gradient at params + t * d; the parameters are put back afterwards."""
        saved = [p._data.copy() for p in self._params]
        self._move(t, d)
        loss = float(closure())
        g = self._flat_grad()
        for p, s in zip(self._params, saved):
            p._data[...] = s
            p._vc[0] += 1
        return loss, g

    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """Run up to ``max_iter`` L-BFGS iterations; ``closure`` re-evaluates the model and returns the loss."""
        group = self.param_groups[0]
        lr = _scalar(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        line_search, history = group["line_search_fn"], group["history_size"]
        xp = self._params[0]._xp

        def evaluate() -> Any:
            with enable_grad():
                return closure()

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss = evaluate()
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if xp.abs(g).max() <= tol_grad:
            return orig_loss

        d, t = _raw(state.get("d")), _raw(state.get("t"))
        dirs, stps, ro = _raw(state.get("old_dirs")), _raw(state.get("old_stps")), _raw(state.get("ro"))
        h_diag, prev_g, prev_loss = _raw(state.get("H_diag")), _raw(state.get("prev_flat_grad")), state.get("prev_loss")
        al = _raw(state["al"]) if "al" in state else None
        converged = False
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -g
                dirs, stps, ro = [], [], []
                h_diag = 1
            else:
                y = g - prev_g
                s = d * t
                ys = xp.dot(y, s)
                if ys > 1e-10:  # keep the pair only where the curvature is positive
                    if len(dirs) == history:
                        del dirs[0], stps[0], ro[0]
                    dirs.append(y)
                    stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / xp.dot(y, y)
                if al is None:
                    al = [None] * history
                # two-loop recursion: d = -H g with H the implicit inverse-Hessian estimate
                q = -g
                for i in range(len(dirs) - 1, -1, -1):
                    al[i] = xp.dot(stps[i], q) * ro[i]
                    q -= dirs[i] * al[i]
                d = q * h_diag
                for i in range(len(dirs)):
                    beta = xp.dot(dirs[i], d) * ro[i]
                    d += stps[i] * (al[i] - beta)
            prev_g = g.copy()
            prev_loss = loss
            t = min(1.0, 1.0 / xp.abs(g).sum()) * lr if state["n_iter"] == 1 else lr
            gtd = xp.dot(g, d)
            if gtd > -tol_change:  # not a descent direction
                break
            step_evals = 0
            if line_search is not None:
                if line_search != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                loss, g, t, step_evals = _strong_wolfe(lambda tt, dd: self._evaluate(evaluate, tt, dd), xp, t, d,
                                                       loss, g, gtd, max_ls=max_eval - evals)
                self._move(t, d)
                converged = bool(xp.abs(g).max() <= tol_grad)
            else:
                self._move(t, d)
                if n_iter != max_iter:
                    loss = float(evaluate())
                    g = self._flat_grad()
                    converged = bool(xp.abs(g).max() <= tol_grad)
                    step_evals = 1
            evals += step_evals
            state["func_evals"] += step_evals
            if n_iter == max_iter or evals >= max_eval or converged:
                break
            if xp.abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change:
                break  # no more progress
        state["d"], state["t"] = _wrapped(d, xp), _wrapped(t, xp)
        state["old_dirs"], state["old_stps"], state["ro"] = _wrapped(dirs, xp), _wrapped(stps, xp), _wrapped(ro, xp)
        state["H_diag"], state["prev_flat_grad"] = _wrapped(h_diag, xp), _wrapped(prev_g, xp)
        state["prev_loss"] = prev_loss
        if al is not None:
            state["al"] = _wrapped(al, xp)
        return orig_loss

