"""examples/run_ai.yaml is the user's documentation, verbatim: its three YAML blocks joined."""

from __future__ import annotations

import re

from tests.e2e.conftest import SEED_CONFIG
from tests.shared import SEED_DOC


def test_the_example_is_the_three_documented_yaml_blocks_byte_for_byte():
    blocks = re.findall(r"```yaml\n(.*?)```", SEED_DOC.read_text(), flags=re.S)
    assert len(blocks) == 3
    assert SEED_CONFIG.read_text() == "".join(blocks)
