"""Timings of the bound calculator (not run by the tests): PYTHONPATH=. python3 benchmarks/bench_bounds.py"""

import time

from fpnorm import LFP, PowerLaw, Sobolev, fp_norm, gamma_l2_info, get_target
from fpnorm.validation import validate_bound


def _time(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main():
    cases = [("PowerLaw p=4 d=1", PowerLaw(p=4, dim=1, zero=1.0)), ("PowerLaw p=4 d=2", PowerLaw(p=4, dim=2, zero=1.0)),
             ("PowerLaw p=4.5 d=3", PowerLaw(p=4.5, dim=3, zero=1.0)), ("LFP d=5", LFP(1, 1, dim=5, zero=1.0)),
             ("Sobolev s=1 d=1", Sobolev(1, dim=1)), ("Sobolev s=2 d=3", Sobolev(2, dim=3)),
             ("Sobolev s=50 d=3", Sobolev(50, dim=3))]
    for name, w in cases:
        t, info = _time(lambda w=w: gamma_l2_info(w))
        print(f"gamma_l2 {name:20s} {t * 1e3:8.2f} ms  method={info.method:16s} "
              f"rel.err.bound={info.error_bound / info.value:.1e}")
    for name, d in (("poisson", 1), ("gauss", 2), ("bandlimited", 3)):
        t, v = _time(lambda name=name, d=d: fp_norm(get_target(name, d), PowerLaw(p=2, dim=d)))
        print(f"fp_norm  {name:12s} d={d}          {t * 1e3:8.2f} ms  value={v:.12g}")
    t, res = _time(lambda: validate_bound(get_target("poisson"), weight=PowerLaw(p=4, dim=1, zero=1.0), K=256,
                                          Ms=[8, 16, 32, 64, 128], trials=5, n_quad=4096), repeat=1)
    print(f"validate_bound poisson d=1 K=256 5 Ms x 5 trials: {t:.2f} s, held {res.held_fraction}, "
          f"decay rate {res.decay_rate:.2f} +- {res.decay_rate_stderr:.2f}")


if __name__ == "__main__":
    main()
