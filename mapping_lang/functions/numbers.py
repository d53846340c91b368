"""Numeric constant functions."""

from __future__ import annotations

import math
from typing import Any

from mapping_lang.library import function


@function("pi", category="General", description="The mathematical constant pi.")
def pi(ctx: Any) -> Any:
    return math.pi
