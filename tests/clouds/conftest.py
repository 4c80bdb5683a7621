"""Hypothesis profiles of the schema-driven adapter tests.

CI (CI=true) runs "ci": derandomized (the same examples every run, so CI cannot fail at
random) and modest. Elsewhere "dev" draws more, and new, examples each run. HYPOTHESIS_PROFILE
chooses one explicitly."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile(
    "ci", derandomize=True, max_examples=40, deadline=None, database=None,
    suppress_health_check=_QUIET, print_blob=True,
)  # fmt: skip
settings.register_profile(
    "dev", max_examples=200, deadline=None, suppress_health_check=_QUIET, print_blob=True
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE")
    or ("ci" if os.environ.get("CI", "").lower() == "true" else "dev")
)
