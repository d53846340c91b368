"""benthic's version and build time, as ``benthic --version`` and the ``/version`` endpoint report them."""

VERSION = "0.1.0"
BUILT = "2026-11-27T00:00:00Z"
