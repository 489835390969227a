"""The Krylov products of the iterative solve's refinement runs (:mod:`fpnorm.solvers.iterative`) at two finufft
tolerances: :class:`ProductTiers`, loose products while loose runs make progress, tight ones from the first run that
does not (mixed-precision iterative refinement: every remainder is measured at the tightest tolerance outside this
module, so a run's products need only be accurate relative to the correction it computes).
"""

import numpy as np

from .. import transforms

__all__ = ["ProductTiers"]

# finufft tolerance of the loose tier of Krylov products (ProductTiers), by dimension. Refinement re-measures the
# remainder with the tight check plan after every run, so a run's products need only be accurate relative to the
# correction it computes. Cost of a type-2 + type-1 pair against eps 1e-14 (finufft 2.5, one thread, uniform random
# points, best of 10): d = 1 (N = 2e4 and 1e5, K = 2^15 and 2^17) 0.61-0.63 at 1e-8 but 0.84-0.87 at 1e-9; d = 2
# (N = 5e3 .. 8e4, K = 64 .. 256) 0.50-0.62 at 1e-8 but 0.77-1.03 at 1e-9; d = 3 (N = 5e3 and 2e4, K = 16 and 24)
# 0.42-0.48 at 1e-9 but 0.61-0.76 at 1e-8 (finufft's own choice of kernel and upsampling changes between the two).
# 1-d has no loose tier: with the two-level preconditioner its runs are short and loose products cost more than they
# save (N = 1e5, K = 2^17: LFP(1,1) 32 tight iterations in 1.0 s against 53 in 1.3 s; Sobolev(1.5) 100 tight
# iterations in one run, where a loose first run left refinement stalled at 2e-10 after 842).
_LOOSE_EPS = {2: 1e-8, 3: 1e-9}
# A loose run is asked to cut its (projected) remainder by _LOOSE_REACH times its products' tolerance (1e-6 at eps
# 1e-8), not to rtol: chasing further stalls on the products' error. Measured cuts per run at this target: 1e-7 ..
# 1e-6 in the first run on the noise-free benchmark rows; two or three loose runs then reach rtol 1e-10 in about as
# many iterations as tight ones (benchmarks/bench_scale.py rows: d = 1 N = 2e4 187 against 207, d = 2 N = 5e3 237
# against 230, N = 2e4 229 against 236, d = 3 N = 5e3 51 against 47, N = 2e4 92 against 88).
_LOOSE_REACH = 100
# Loose products are dropped for the rest of the solve (ProductTiers.measured) once a loose run that reached its
# inner tolerance cuts the measured remainder by less than this factor, _LOOSE_EPS times the sum |c_k| of its
# correction exceeds it relative to that run's remainder, or the run stalls; a run that cut its remainder by less is
# discarded. Discarding matters: a loose run that stalled at 2.4e-2 near nearly coincident points (d = 1, N = 1e5,
# K = 2^17, Sobolev(1.5)) left a remainder on which tight runs crawled, 1706 iterations to 5e-6, where from the data
# they take 1000 to 3e-7.
_LOOSE_PROGRESS = 1e-2
# ... and once a loose run that used all its iterations cuts the remainder by less than this. Such runs are
# slow, not misled: on d = 2, N = 8e4, K = 256, Sobolev(2) a loose run of 200 cut its remainder to 1.3e-2, and
# tight runs of 200 on the same remainder to 9.4e-3.
_LOOSE_SLOW = 0.1
# Loose products are not tried when _LOOSE_EPS times the solution's sum |c_k| / max |y|, as estimated from the
# preconditioner's dual, exceeds this. The estimate is 1-20x the true sum on noise-free rows and up to 7e3x on noisy
# ones (which all start tight: 7e-4 and above). It lies between two 1-d rows measured with loose products, d = 1,
# K = 2^15, N = 2e4, Sobolev(1.5) (1.8e-7: loose runs cut the remainder 1e-6 a run) and N = 1e5, K = 2^17 (8.1e-7:
# the first loose run stalled at 2.4e-2, and it is discarded).
_LOOSE_START = 4e-7


class ProductTiers:
    """The Krylov products of each refinement run: loose (finufft eps ``_LOOSE_EPS``) while loose runs cut the
    measured remainder, tight (``tight``) from the first run that does not; each plan is made on first use.

    A loose run is given the inner tolerance ``max(tol, reach * size)`` for a remainder of largest projected value
    ``size``: what its products can reach (``reach`` grows to what the last loose run achieved), not rtol.

    Examples
    --------
    >>> import numpy as np
    >>> t = 2 * np.pi * np.random.default_rng(0).random((50, 2))
    >>> tiers = ProductTiers(t, 4, 1, np.ones((9, 9, 1)), tight=1e-14)
    >>> tiers.loose, tiers.tight
    (1e-08, 1e-14)
    >>> forward, adjoint, run_tol = tiers.run(1.0, 1e-12)   # loose: asked what its products can reach
    >>> float(run_tol)
    1e-06
    >>> tiers.measured(1.0, 0.5, 1.0, converged=True, exhausted=False)   # a converged run cut it by 2 only: dropped
    True
    >>> tiers.loose is None
    True
    """

    def __init__(self, t, K, m, root, *, tight, exact=False):
        self._t, self._K, self._m, self._root = t, K, m, root
        self.tight = tight
        loose = _LOOSE_EPS.get(t.shape[1], min(_LOOSE_EPS.values()) if t.shape[1] > 1 else None)
        # exact (direct-sum) products cost the same at any tolerance: loose runs would only add restarts
        self.loose = loose if loose is not None and loose > tight and not exact else None
        self.reach = _LOOSE_REACH * (loose or tight)
        self.current = None           # the tolerance of the last run's products when loose, else None
        self._plans = {}

    def operators(self, eps):
        """``A z`` and ``A^H r`` with products at finufft tolerance `eps`."""
        if eps not in self._plans:
            self._plans[eps] = transforms.NufftPlan(self._t, self._K, n_trans=self._m, eps=eps)
        plan, root = self._plans[eps], self._root
        scaled = np.empty(root.shape[:-1] + (self._m,), dtype=complex)   # reused: fresh pages each product

        def forward(z):           # A z: values of the scaled coefficients at the points
            return plan.evaluate(np.multiply(root, z, out=scaled)).real

        def adjoint(r):           # A^H r
            out = plan.adjoint(r)
            return np.multiply(out, root, out=out)

        return forward, adjoint

    def predict(self, mass):
        """Keep the loose tier only when ``_LOOSE_EPS`` times `mass`, an estimate of the solution's ``sum |c_k|``
        relative to the data, is within ``_LOOSE_START``."""
        if self.loose is not None and not self.loose * mass <= _LOOSE_START:
            self.loose = None

    def run(self, size, tol):
        """``forward, adjoint, run_tol`` of the next run on a remainder of largest projected value `size`."""
        self.current = self.loose
        if self.loose is None:
            return (*self.operators(self.tight), tol)
        return (*self.operators(self.loose), max(tol, self.reach * size))

    def measured(self, before, after, mass, converged, exhausted):
        """After a run on a remainder of size `before`: the measured size `after`, its correction's ``sum |c_k|``
        (`mass`), whether it reached its inner tolerance by its own misfit (`converged`) or used all its iterations
        (`exhausted`). Keeps the loose tier while the runs make progress: a converged run cuts the remainder by
        ``_LOOSE_PROGRESS``, an exhausted one by ``_LOOSE_SLOW`` (convergence, not the products, held it back);
        otherwise (the products' error showed, or the run stalled on it) drops it, and returns True when the run
        is to be discarded (less than ``_LOOSE_PROGRESS``): refinement goes on, with tight products, from the
        remainder before it."""
        if self.current is None or before <= 0:
            return False
        gain = after / before
        floor = self.loose * mass / before
        if floor <= _LOOSE_PROGRESS and (gain <= _LOOSE_PROGRESS if converged else exhausted and gain <= _LOOSE_SLOW):
            if converged:
                self.reach = max(self.reach, gain, floor)
            return False
        self.loose = None
        return gain > _LOOSE_PROGRESS
