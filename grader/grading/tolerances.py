"""The one tolerance policy of grading (float64 everywhere).

Every comparison the grader makes reads these numbers: a test, the students'
checker and the report never disagree about "close". The numeric gradient
check's own numbers (its step h, the relative error's floor, the largest
error it accepts) belong to the check itself, as the lecture defines it: they
live in :mod:`reference.gradcheck` and are adopted here unchanged.
"""

from reference import gradcheck

FORWARD_RTOL = 1e-7
"""Forward values and backward gradients against the reference: relative part."""

FORWARD_ATOL = 1e-9
"""Forward values and backward gradients against the reference: absolute part."""

OPTIMIZER_RTOL = 1e-7
"""Optimizer trajectories (several steps) against the reference."""

OPTIMIZER_ATOL = 1e-12
"""Absolute floor for optimizer trajectories, so entries that are exactly 0 compare sanely."""

GRADCHECK_STEP = gradcheck.STEP
GRADCHECK_SMOOTH = gradcheck.SMOOTH_TOLERANCE
GRADCHECK_KINK = gradcheck.KINK_TOLERANCE
RELATIVE_ERROR_FLOOR = gradcheck.RELATIVE_ERROR_FLOOR

PRINTED_DIGIT_UNITS = 0.55
"""A lecture's printed number p with d decimals matches v when |v − p| ≤ 0.55·10^(−d).

Half a unit of the last printed digit, plus the twentieth of a unit that the
lecture's own two-step rounding adds: h1 = 0.50124999… was rounded to
0.50125 and then printed as 0.5013. Values are never rounded before comparing.
"""
