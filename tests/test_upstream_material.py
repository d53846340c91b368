"""tools/upstream_material.py on a small stand-in for upstream's repository."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PAGE = """= kafka
:type: input
:categories: ["Services"]

```yml
# Common config fields, showing default values
input:
  label: ""
  kafka:
    addresses: []
```

[source,yaml]
----
input:
  generate:
    mapping: 'root = "x"'
output:
  drop: {}
----

```yaml
pipeline:
  processors:
    - not_yet_in_benthic:
        code: 'x'
```

```yaml
root = this
```
"""

TEST_TARGET = """pipeline:
  processors:
    - mapping: 'root = content().uppercase()'
tests:
  - name: upper
    input_batch:
      - content: abc
    output_batches:
      - - content_equals: ABC
"""


def test_the_tool_counts_configs_and_test_targets_and_groups_failures_by_cause(tmp_path: Path):
    pages = tmp_path / "docs" / "modules" / "components" / "pages" / "inputs"
    pages.mkdir(parents=True)
    (pages / "kafka.adoc").write_text(PAGE)
    examples = tmp_path / "config" / "examples"
    examples.mkdir(parents=True)
    (examples / "upper.yaml").write_text("input:\n  stdin: {}\noutput:\n  stdout: {}\n")
    tests = tmp_path / "config" / "test"
    tests.mkdir()
    (tests / "upper.yaml").write_text(TEST_TARGET)
    (tests / "broken.yaml").write_text(TEST_TARGET.replace("ABC", "abc"))
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "upstream_material.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    rows = {line[:22].strip(): line[22:].split() for line in out.splitlines()[2:7]}
    assert rows["config"][:2] == ["1", "1"]
    assert rows["docs example"][:2] == ["2", "1"]
    assert rows["docs field reference"][:2] == ["1", "0"]
    assert rows["config/test"][:2] == ["2", "1"]
    assert "needs an outside service" in out  # the kafka field reference
    # a missing component that needs no service (a made-up name, so that benthic gaining a
    # component never changes what this test sees)
    assert "processor not_yet_in_benthic" in out
