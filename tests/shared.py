"""Where the project's shared reference material is: ``shared/`` beside the checkout (as CI lays
it out, and as ``/work/main`` + ``/work/shared`` are here). Tests that need it fail loudly when it
is missing instead of silently running nothing."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    for candidate in (REPO.parent / "shared", Path("/work/shared")):
        if (candidate / "conformance").is_dir():
            return candidate
    raise FileNotFoundError(f"shared/ reference material not found beside {REPO}")


SHARED = shared_dir()
CONFORMANCE = SHARED / "conformance" / "bloblang_examples.json"
UPSTREAM_CONFIGS = SHARED / "upstream_configs"
SEED_DOC = SHARED / "seed" / "run_ai_collector.md"
