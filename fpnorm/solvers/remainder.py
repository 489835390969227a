"""The remainder ``r - h(x_n)`` that iterative refinement works on, measured with a certified bound on its error.

Refinement (:func:`fpnorm.solvers.iterative.solve_iterative`) hands each Krylov run the remainder the solution so far
leaves at the points, and stops on its size: a run can reach no lower than that measurement is accurate. Measuring
``h`` at the points in double precision is off by about ``1e-16 sum_k |c_k|``, and noisy data on nearly coincident
points make ``sum_k |c_k|`` huge (9.2e6 ``max |y|`` at N = 2e5 uniform random points, K = 2^18, Sobolev(1), noise
0.1), so there refinement sat on the rounding of the measurement, not on the preconditioner: measured against
extended precision, the double-precision values were 3.5e-10 .. 9e-10 ``max |y|`` off, and eight more runs (about
530 iterations) left the true residual at 3.9e-10 .. 9.1e-10 against rtol 1e-10.

In 1-d (the Taylor NUFFT of :mod:`fpnorm.solvers.certify_fft`, each value with its proven bound) a
:class:`RemainderMeter` therefore updates the remainder by the values of each run's step, measured in double
precision (their bound, about ``1.3e-13`` times the step's ``sum_k |c_k|``, is small once the first run has found
the bulk of the solution), and bounds the rounding of adding the step to the coefficients by its ``sum_k |c_k|``
(formed exactly by Knuth's two-sum); and it measures the whole solution in extended precision (about ``1e-18 sum_k
|c_k|``, eight times the cost) when the accumulated bound exceeds :data:`MEASURE_SHARE` of the remainder (or of the
solve's target).
The last remainder's bounds give the solve's certified residual (:meth:`RemainderMeter.bounds`, reported by
:func:`fpnorm.solvers.solve` when they are within :data:`fpnorm.solvers.certify.EXACT_SHARE`). In d >= 2 the
remainder is measured by the caller's NUFFT, without a bound.
"""

import numpy as np

__all__ = ["MEASURE_SHARE", "RemainderMeter"]

# The share of the remainder (or of the solve's absolute target, half rtol max |y|) that the bound on its
# measurement may reach before the solution is measured again in extended precision. At N = 2e5, K = 2^18 (noisy,
# above) that happens once, after the second run (bound 1.2e-6 max |y| on a remainder of 7e-10), and one more run of
# 71 iterations reached 4.5e-11 (certified): 330 iterations in all, where measuring in double precision went on for
# 931 and ended at 4.0e-10.
MEASURE_SHARE = 0.5
_U = 2.0**-53


class RemainderMeter:
    """The remainder ``rhs - h`` at the points of a problem, and a bound on its error (module docstring).

    Parameters
    ----------
    problem : Problem
    measure : callable
        ``measure(coef, extended) -> (values, error)``: ``Re h`` at the points, (N, m') for coefficients with
        ``m'`` columns, in extended precision with `extended`, and a bound (m',) on every value's error
        (:func:`fpnorm.solvers.certify.certified_values`); ``error`` None where the measurement has no bound, and
        then ``extended`` is never asked for.
    tol : float
        The solve's absolute target on the remainder.
    certified : bool
        Whether `measure` bounds its error.

    Examples
    --------
    >>> import numpy as np
    >>> from fpnorm.solvers.problem import Problem
    >>> p = Problem(np.array([[0.5], [2.0]]), np.array([[1.0], [0.0]]), 1, np.ones(3))
    >>> def measure(c, extended=False):                  # exact sums over k = -1, 0, 1
    ...     e = np.exp(1j * np.arange(-1, 2) * p.t)       # (N, 3)
    ...     return (e @ c.reshape(3, -1)).real, np.zeros(c.size // 3)
    >>> meter = RemainderMeter(p, measure, 1e-12, certified=True)
    >>> r, err = meter.start()
    >>> step = np.zeros((3, 1), dtype=complex); step[1] = 0.5    # h = 0.5
    >>> coef, r, err = meter.after(r, err, np.zeros((3, 1), dtype=complex), step)
    >>> r.ravel().tolist(), bool(err[0] < 1e-15)
    ([0.5, -0.5], True)
    """

    def __init__(self, problem, measure, tol, *, certified):
        self._problem, self._measure_values, self._tol, self.certified = problem, measure, tol, certified
        self._m = problem.rhs.shape[1]
        # the bound of the last extended-precision measurement relative to the sum |c_k| it measured, by column
        self._unit = np.zeros(self._m)

    def start(self):
        """The remainder of the zero solution (the right-hand sides) and its error bound (0; None uncertified)."""
        return self._problem.rhs.copy(), np.zeros(self._m) if self.certified else None

    def _measure(self, coef, extended=False):
        values, error = self._measure_values(coef, extended)
        return values, None if error is None else np.asarray(error, dtype=float).reshape(-1)

    def after(self, remainder, error, coef, step):
        """``(coef + step, its remainder, the remainder's error bound by column)``, from the remainder of `coef`
        and its bound `error` (the caller keeps or discards the result)."""
        rhs, m = self._problem.rhs, self._m
        new_coef = coef + step
        if not self.certified:
            return new_coef, rhs - self._measure(new_coef)[0], None
        # the rounding of the sum, exactly and componentwise: coef + step = new_coef + lost (with sum |c_k| =
        # 3.6e7 max |y| at 200 points, K = 256, leaving it out moved h by 3.7e-10 max |y| unseen); its values are
        # at most its sum |c_k| (about 1e-16 of the solution's), which the bound carries instead of a transform: noisy
        # data then reach the extended measurement below sooner, smooth data never notice
        back = new_coef - coef
        lost = (coef - (new_coef - back)) + (step - back)
        values, bound = self._measure(step)
        new = remainder - values
        lost_mass = np.sum(np.abs(lost).reshape(-1, m), axis=0) * (1 + 4 * _U)
        bound = error + bound + lost_mass + 2 * _U * np.max(np.abs(new), axis=0)
        share = MEASURE_SHARE * np.maximum(np.max(np.abs(new), axis=0), self._tol)
        # the steps' bound stands where an extended measurement would not be tighter than half of it (its bound is
        # proportional to the solution's sum |c_k|, which may fall by orders of magnitude after a first run that
        # overshoots: at N = 4e5, K = 2^19 (noisy) 1.1e7 max |y| after the first run, 2.9e5 after the second)
        mass = np.sum(np.abs(new_coef).reshape(-1, m), axis=0)
        if np.all(bound <= np.maximum(share, 2 * self._unit * mass)):
            return new_coef, new, bound
        values, bound = self._measure(new_coef, extended=True)
        new = (rhs - values).astype(float)
        self._unit = bound / np.where(mass > 0, mass, 1.0)
        return new_coef, new, bound + 2 * _U * np.max(np.abs(new), axis=0)

    def bounds(self, coef, remainder, error, share, affordable):
        """Upper and lower bounds, (N, m), on ``|rhs - h|`` at the points for `coef`, whose remainder is `remainder`
        with the error bound `error` (by column); measured again in extended precision, where `affordable`, when the
        steps' bound leaves the largest upper bound more than `share` above the largest lower one (one measurement,
        where certifying anew would take a double-precision one first)."""
        hi, lo = self._bounds(remainder, error)
        if not (self.certified and affordable) or np.max(hi, initial=0.0) <= (1 + share) * np.max(lo, initial=0.0):
            return hi, lo
        values, bound = self._measure(coef, extended=True)
        new = (self._problem.rhs - values).astype(float)
        return self._bounds(new, bound + 2 * _U * np.max(np.abs(new), axis=0))

    @staticmethod
    def _bounds(remainder, error):
        size = np.abs(remainder)
        return size * (1 + 2 * _U) + error, np.maximum(size * (1 - 2 * _U) - error, 0.0)
