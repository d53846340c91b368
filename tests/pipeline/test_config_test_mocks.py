"""``benthic test`` mocks as upstream's runner applies them: labelled processor resources, and
the JSON Pointer append form (``/pipeline/processors/-``)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.pipeline.conftest import run_cli


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def test_a_mocked_processor_resource_keeps_its_label_and_is_used_through_the_reference(
    tmp_path: Path,
) -> None:
    config = _write(
        tmp_path / "resource_mock.yaml",
        """\
        pipeline:
          processors:
            - resource: submit
        processor_resources:
          - label: submit
            http:
              url: http://127.0.0.1:1/never
        tests:
          - name: mocked resource
            target_processors: /pipeline/processors
            mocks:
              submit:
                mapping: 'root = {"abc": 123}'
            input_batch:
              - json_content: {foo: bar}
            output_batches:
              - - json_equals: {abc: 123}
                  bloblang: '!errored()'
        """,
    )
    result = run_cli("test", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "succeeded" in result.stdout


def test_a_mock_at_a_past_the_end_pointer_appends_a_processor(tmp_path: Path) -> None:
    config = _write(
        tmp_path / "append.yaml",
        """\
        pipeline:
          processors:
            - mapping: 'root = "simon says: " + content()'
            - label: fetch
              http:
                url: http://127.0.0.1:1/never
        tests:
          - name: error exposed by an appended processor
            mocks:
              fetch:
                mapping: 'root = throw("the processor failed")'
              /pipeline/processors/-:
                mapping: |
                  root.content = content().string()
                  root.error = error()
            input_batch:
              - content: hello
            output_batches:
              - - json_equals:
                    content: 'simon says: hello'
                    error: 'failed assignment (line 1): the processor failed'
        """,
    )
    result = run_cli("test", str(config))
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_past_the_end_pointer_into_an_object_is_an_error(tmp_path: Path) -> None:
    config = _write(
        tmp_path / "bad.yaml",
        """\
        pipeline:
          processors:
            - mapping: 'root = this'
        tests:
          - name: bad pointer
            mocks:
              /pipeline/-:
                mapping: 'root = this'
            input_batch:
              - content: '{}'
            output_batches:
              - - content_equals: '{}'
        """,
    )
    result = run_cli("test", str(config))
    assert result.returncode == 1
    assert "key '-' not found" in result.stdout + result.stderr
