"""``benthic test``: config unit tests run through the real CLI on configs in temporary dirs."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from tests.pipeline.conftest import REPO, run_cli

UPPER_CONFIG = """\
input:
  stdin: {}
pipeline:
  processors:
    - label: upper
      mapping: 'root = content().uppercase().string() + "end"'
output:
  stdout: {}
"""


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def test_inline_tests_pass(tmp_path: Path) -> None:
    config = write(
        tmp_path / "foo.yaml",
        UPPER_CONFIG
        + """\
tests:
  - name: uppercases
    input_batch:
      - content: hello
    output_batches:
      - - content_equals: HELLOend
          content_matches: '^HEL+O'
""",
    )
    result = run_cli("test", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == f"Test '{config}' succeeded\n"


def test_failing_condition_is_reported_with_test_line_and_reason(tmp_path: Path) -> None:
    config = write(
        tmp_path / "foo.yaml",
        UPPER_CONFIG
        + """\
tests:
  - name: wrong expectation
    input_batch:
      - content: hello
    output_batches:
      - - content_equals: HELLO
""",
    )
    result = run_cli("test", str(config))
    assert result.returncode == 1
    assert result.stdout == (
        f"Test '{config}' failed\n"
        "\n"
        "Failures:\n"
        "\n"
        f"--- {config} ---\n"
        "\n"
        "wrong expectation [line 10]:\n"
        "batch 0 message 0: content_equals: content mismatch\n"
        "  expected: HELLO\n"
        "  received: HELLOend\n"
    )


def test_batch_and_message_counts_must_match(tmp_path: Path) -> None:
    config = write(
        tmp_path / "foo.yaml",
        UPPER_CONFIG
        + """\
tests:
  - name: counts
    input_batch:
      - content: a
      - content: b
    output_batches:
      - - content_equals: Aend
      - - content_equals: Bend
""",
    )
    result = run_cli("test", str(config))
    assert result.returncode == 1
    assert "wrong batch count, expected 2, got 1\n" in result.stdout
    assert "mismatch of output batch 0 message counts, expected 1, got 2\n" in result.stdout
    assert "unexpected message from batch 0: Bend\n" in result.stdout


def test_sibling_benthos_test_file(tmp_path: Path) -> None:
    config = write(tmp_path / "foo.yaml", UPPER_CONFIG)
    write(
        tmp_path / "foo_benthos_test.yaml",
        """\
        tests:
          - name: from the sibling file
            target_processors: upper
            input_batch:
              - content: abc
            output_batches:
              - - content_equals: ABCend
        """,
    )
    result = run_cli("test", f"{tmp_path}/...")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == f"Test '{config}' succeeded\n"


def test_fragment_file_targets_another_config(tmp_path: Path) -> None:
    write(tmp_path / "pipeline.yaml", UPPER_CONFIG)
    tests = write(
        tmp_path / "checks.yaml",
        """\
        tests:
          - name: fragment
            target_processors: 'pipeline.yaml#/pipeline/processors'
            input_batch:
              - content: x
            output_batches:
              - - content_equals: Xend
        """,
    )
    result = run_cli("test", str(tests))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == f"Test '{tests}' succeeded\n"


def test_mock_replaces_a_labelled_processor(tmp_path: Path) -> None:
    config = write(
        tmp_path / "foo.yaml",
        """\
        pipeline:
          processors:
            - label: fetch_user  # stands in for a networked processor
              mapping: 'root = throw("no network in unit tests")'
            - mapping: 'root = this.name.uppercase()'
        tests:
          - name: mocked fetch
            mocks:
              fetch_user:
                mapping: 'root = {"name": "ada"}'
            input_batch:
              - content: '{}'
            output_batches:
              - - content_equals: ADA
        """,
    )
    result = run_cli("test", str(config))
    assert result.returncode == 0, result.stdout + result.stderr


def test_target_mapping_file(tmp_path: Path) -> None:
    write(tmp_path / "double.blobl", "root.n = this.n * 2\n")
    config = write(
        tmp_path / "foo.yaml",
        """\
        pipeline:
          processors: []
        tests:
          - name: blobl file
            target_mapping: double.blobl
            input_batch:
              - json_content: {n: 21}
            output_batches:
              - - json_equals: {n: 42}
        """,
    )
    result = run_cli("test", str(config))
    assert result.returncode == 0, result.stdout + result.stderr


def test_json_contains_reports_a_superset_mismatch(tmp_path: Path) -> None:
    config = write(
        tmp_path / "foo.yaml",
        """\
        pipeline:
          processors:
            - mapping: 'root = this.merge({"extra": true})'
        tests:
          - name: superset holds
            input_batch:
              - json_content: {a: 1, b: [1, 2]}
            output_batches:
              - - json_contains: {a: 1, b: [1, 2]}
          - name: superset broken
            input_batch:
              - json_content: {a: 1}
            output_batches:
              - - json_contains: {a: 2}
        """,
    )
    result = run_cli("test", str(config))
    assert result.returncode == 1
    assert "superset holds" not in result.stdout
    assert (
        "superset broken [line 10]:\n"
        "batch 0 message 0: json_contains: JSON superset mismatch\n"
        '  expected: {"a":2}\n'
        '  received: {"a":1,"extra":true}\n'
    ) in result.stdout


def test_metadata_equals(tmp_path: Path) -> None:
    config = write(
        tmp_path / "foo.yaml",
        """\
        pipeline:
          processors:
            - mapping: |
                meta topic = "events"
                root = this
        tests:
          - name: metadata
            input_batch:
              - content: '{}'
                metadata:
                  source: test
            output_batches:
              - - metadata_equals:
                    topic: events
                    source: test
          - name: missing key
            input_batch:
              - content: '{}'
            output_batches:
              - - metadata_equals:
                    absent: x
        """,
    )
    result = run_cli("test", str(config))
    assert result.returncode == 1
    assert (
        "missing key [line 16]:\nbatch 0 message 0: metadata_equals: metadata key 'absent' expected but not found\n"
        in result.stdout
    )
    assert "metadata [line" not in result.stdout


def test_input_batches_produce_one_output_batch_each(tmp_path: Path) -> None:
    config = write(
        tmp_path / "foo.yaml",
        UPPER_CONFIG
        + """\
tests:
  - name: batches
    input_batches:
      - - content: a
        - content: b
      - - content: c
    output_batches:
      - - content_equals: Aend
        - content_equals: Bend
      - - bloblang: 'content() == "Cend"'
""",
    )
    result = run_cli("test", str(config))
    assert result.returncode == 0, result.stdout + result.stderr


def test_environment_applies_while_the_target_is_parsed(tmp_path: Path) -> None:
    config = write(
        tmp_path / "foo.yaml",
        """\
        pipeline:
          processors:
            - mapping: 'root = "${GREETING:hi} " + content().string()'
        tests:
          - name: default
            input_batch: [{content: bob}]
            output_batches: [[{content_equals: hi bob}]]
          - name: from the case
            environment:
              GREETING: hello
            input_batch: [{content: bob}]
            output_batches: [[{content_equals: hello bob}]]
        """,
    )
    result = run_cli("test", str(config))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_seed_mapping(tmp_path: Path) -> None:
    config = tmp_path / "run_ai.yaml"
    shutil.copyfile(REPO / "examples" / "run_ai.yaml", config)
    write(
        tmp_path / "run_ai_benthos_test.yaml",
        """\
        tests:
          - name: a workload becomes a CloudEvent
            environment:
              RUNAI_URL: http://127.0.0.1:1
              RUNAI_APP_ID: app
              RUNAI_APP_SECRET: secret
            input_batch:
              - json_content:
                  name: train-1
                  tenantId: 1
                  projectId: p
                  departmentId: d
                  clusterId: c
                  type: training
                  allocatedResources: {gpu: 2}
                  metrics: {values: {CPU_LIMIT_CORES: 4}}
                metadata:
                  scrape_interval: 30s
                  resource_type: workload
            output_batches:
              - - json_contains:
                    specversion: "1.0"
                    type: workload
                    source: run_ai
                    subject: train-1
                    data:
                      tenant: 1
                      project: p
                      department: d
                      cluster: c
                      type: training
                      gpuAllocationMinutes: 1
                      cpuLimitCoreMinutes: 2
                  bloblang: 'this.id.re_match("^[0-9a-f-]{36}$") && this.time.ts_parse("2006-01-02T15:04:05.999999999Z07:00").type() == "timestamp"'
        """,
    )
    result = run_cli("test", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == f"Test '{config}' succeeded\n"


def test_lint_errors_of_the_target_fail_the_test(tmp_path: Path) -> None:
    config = write(
        tmp_path / "foo.yaml",
        UPPER_CONFIG.replace("output:", "nonsense: 1\noutput:")
        + """\
tests:
  - name: fine
    input_batch: [{content: a}]
    output_batches: [[{content_equals: Aend}]]
""",
    )
    result = run_cli("test", str(config))
    assert result.returncode == 1
    assert "\nLint: (7,1) field nonsense not recognised\n" in result.stdout


def test_unknown_fields_are_refused(tmp_path: Path) -> None:
    config = write(
        tmp_path / "foo.yaml",
        UPPER_CONFIG
        + """\
tests:
  - name: typo
    input_batch: [{content: a}]
    output_batches: [[{content_equal: Aend}]]
""",
    )
    result = run_cli("test", str(config))
    assert result.returncode == 1
    assert "message part condition type not recognised: content_equal" in result.stderr
    assert result.stderr.startswith("Failed to obtain test targets: failed to parse test definition from")


def test_no_tests_and_set_are_refused(tmp_path: Path) -> None:
    config = write(tmp_path / "foo.yaml", UPPER_CONFIG)
    result = run_cli("test", str(config))
    assert (result.returncode, result.stdout) == (1, "No tests were found\n")
    result = run_cli("test", "--set", "a=b", str(config))
    assert result.returncode == 1
    assert "cannot override fields with --set (-s) during unit tests" in result.stderr
