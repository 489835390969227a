"""fpnorm: minimum FP-norm interpolation on the torus and the frequency-principle generalization bound.

The public API is listed in ``__all__``; the README has a quickstart, the maths and the architecture.
"""

from .bounds import BoundResult, bound_curve, generalization_bound, sample_complexity
from .convergence import ConvergenceResult, convergence_study, kernel_tail_bound, limit_distance
from .dynamics import LFPFlow, ShellErrors, convergence_times, shell_index
from .exceptions import (
    AccuracyWarning,
    FileFormatError,
    FloatRangeWarning,
    IllPosedWeightWarning,
    MemoryEstimateError,
    NetworkRangeWarning,
    SolveError,
    TruncationWarning,
    UnresolvedNormWarning,
)
from .interpolant import FPInterpolator
from .io import load, package_version, save
from .kernels import bernoulli_kernel, closed_form_kernel, has_closed_form, sobolev_kernel
from .lattice_sums import GammaL2, gamma_l2_info, gamma_l2_norm
from .learning_curve import LearningCurve, learning_curve
from .norms import FPNORM_STATUSES, FPNorm, fp_norm
from .posterior import PosteriorBound, loo_error, posterior_bound
from .targets import TARGETS, get_target
from .validation import BoundValidation, population_risk, validate_bound
from .weights import LFP, PowerLaw, Sobolev, Weight, weight_from_spec

__version__ = package_version()

__all__ = [
    "Weight", "PowerLaw", "LFP", "Sobolev", "weight_from_spec",
    "FPInterpolator", "save", "load",
    "LFPFlow", "ShellErrors", "convergence_times", "shell_index",
    "gamma_l2_norm", "gamma_l2_info", "GammaL2",
    "fp_norm", "FPNorm", "FPNORM_STATUSES", "generalization_bound", "BoundResult", "bound_curve", "sample_complexity",
    "population_risk", "validate_bound", "BoundValidation", "get_target", "TARGETS",
    "SolveError", "MemoryEstimateError", "AccuracyWarning", "TruncationWarning", "IllPosedWeightWarning",
    "UnresolvedNormWarning", "NetworkRangeWarning", "FileFormatError", "FloatRangeWarning",
    "closed_form_kernel", "has_closed_form", "bernoulli_kernel", "sobolev_kernel",
    "convergence_study", "kernel_tail_bound", "limit_distance", "ConvergenceResult",
    "learning_curve", "LearningCurve", "posterior_bound", "PosteriorBound", "loo_error",
]
