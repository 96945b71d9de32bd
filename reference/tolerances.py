"""The one tolerance policy of the course (float64 everywhere).

The reference's gradient checker and the grader's comparisons both read
these numbers, so a test and the engine never disagree about "close".
"""

FORWARD_RTOL = 1e-7
"""Forward values and backward gradients against the reference: relative part."""

FORWARD_ATOL = 1e-9
"""Forward values and backward gradients against the reference: absolute part."""

OPTIMIZER_RTOL = 1e-7
"""Optimizer trajectories (several steps) against the reference."""

OPTIMIZER_ATOL = 1e-12
"""Absolute floor for optimizer trajectories, so entries that are exactly 0 compare sanely."""

GRADCHECK_SMOOTH = 1e-6
"""Largest relative error |a − n| / max(1e-8, |a| + |n|) of a smooth function's numeric gradient check."""

GRADCHECK_KINK = 1e-4
"""The same for functions with kinks (ReLU, max, hardtanh), checked away from them."""

RELATIVE_ERROR_FLOOR = 1e-8
"""The denominator floor of the relative error, so two zeros compare as equal."""

GRADCHECK_STEP = 1e-6
"""h in the centred difference (f(x + h) − f(x − h)) / 2h."""

PRINTED_DIGIT_UNITS = 0.55
"""A lecture's printed number p with d decimals matches v when |v − p| ≤ 0.55·10^(−d).

Half a unit of the last printed digit, plus the twentieth of a unit that the
lecture's own two-step rounding adds: h1 = 0.50124999… was rounded to
0.50125 and then printed as 0.5013. Values are never rounded before comparing.
"""
