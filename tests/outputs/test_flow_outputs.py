"""The wrapper outputs in a pipeline: which output gets a message, and what the input is told."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from pipeline.builder import Manager
from pipeline.errors import ConfigError
from tests.pipeline.conftest import run_cli
from tests.processors.flow_helpers import run_config

INPUT = """
input:
  generate:
    count: {count}
    interval: ""
    mapping: 'root = {{"id": counter()}}'
"""


def test_fallback_sends_to_the_next_output_with_the_error_in_metadata(tmp_path: Path) -> None:
    out = tmp_path / "o"
    text = (
        INPUT.format(count=2)
        + f"""
output:
  fallback:
    - reject: 'first refused ${{! this.id }}'
    - file:
        path: {out}
      processors:
        - mapping: 'root = this.merge({{"why": @fallback_error}})'
"""
    )
    assert run_config(text, out) == [{"id": 1, "why": "first refused 1"}, {"id": 2, "why": "first refused 2"}]


def test_fallback_whose_outputs_all_fail_nacks_so_nothing_is_acknowledged(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load(
        INPUT.format(count=1)
        + """
output:
  fallback:
    - reject: 'no first'
    - reject: 'no second'
"""
    )

    async def main() -> bool:
        stream = Manager().build_stream(data)
        try:
            await asyncio.wait_for(stream.run(), 1.5)
        except TimeoutError:
            return False  # still retrying the nacked batch
        finally:
            stream.force()
            await stream.close()
        return True

    assert asyncio.run(main()) is False, "a batch that no output accepted was acknowledged"
    assert "no second" in capfd.readouterr().err


def test_reject_errored_sends_clean_messages_on(tmp_path: Path) -> None:
    out = tmp_path / "o"
    text = (
        INPUT.format(count=3)
        + f"""
pipeline:
  processors:
    - mapping: 'root = if this.id == 2 {{ throw("bad two") }} else {{ this }}'
output:
  fallback:
    - reject_errored:
        file: {{path: {out}}}
    - file:
        path: {tmp_path / "dlq"}
      processors:
        - mapping: 'root = {{"dead": @fallback_error}}'
"""
    )
    assert sorted(run_config(text, out), key=lambda d: d["id"]) == [{"id": 1}, {"id": 3}]
    assert (tmp_path / "dlq").read_text().strip() == (
        '{"dead":"rejecting due to failed processing: failed assignment (line 1): bad two"}'
    )


def test_retry_output_retries_until_the_child_delivers(tmp_path: Path) -> None:
    out = tmp_path / "o"
    # the cache output writes only once the (file) cache directory exists: a processor of the
    # retry's child creates it on the second attempt through a `cache` add that fails the first time
    text = (
        INPUT.format(count=1)
        + f"""
output:
  retry:
    backoff: {{initial_interval: 1ms, max_interval: 5ms}}
    output:
      fallback:
        - reject_errored:
            file: {{path: {out}}}
          processors:
            - cache: {{resource: gate, operator: add, key: once, value: x}}
            - mapping: 'root = if errored() {{ this }} else {{ throw("first attempt fails") }}'
            - catch: []
cache_resources:
  - label: gate
    memory: {{}}
"""
    )
    assert run_config(text, out) == [{"id": 1}]


def test_retry_output_gives_up_after_max_retries(tmp_path: Path) -> None:
    text = (
        INPUT.format(count=1)
        + f"""
output:
  fallback:
    - retry:
        max_retries: 2
        backoff: {{initial_interval: 1ms, max_interval: 2ms}}
        output: {{reject: 'down'}}
    - file:
        path: {tmp_path / "o"}
      processors:
        - mapping: 'root = {{"why": @fallback_error}}'
"""
    )
    assert run_config(text, tmp_path / "o") == [{"why": "message failed to reach a target destination"}]


def test_cache_output_stores_each_message_under_its_key(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    text = (
        INPUT.format(count=2)
        + f"""
output:
  cache:
    target: files
    key: 'item-${{! this.id }}'
cache_resources:
  - label: files
    file: {{directory: {store}}}
"""
    )
    run_config(text, tmp_path / "unused")
    assert (store / "item-1").read_text() == '{"id":1}'
    assert (store / "item-2").read_text() == '{"id":2}'


def test_resource_output_sends_to_the_labelled_output(tmp_path: Path) -> None:
    out = tmp_path / "o"
    text = (
        INPUT.format(count=2)
        + f"""
output:
  resource: sink
output_resources:
  - label: sink
    file: {{path: {out}}}
"""
    )
    assert run_config(text, out) == [{"id": 1}, {"id": 2}]


def test_resource_output_names_a_missing_resource(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="output resource 'gone' was not found"):
        run_config(INPUT.format(count=1) + "output: {resource: gone}\n", tmp_path / "o")


def test_resource_output_with_its_own_processors_lints_clean_and_runs_them(tmp_path: Path) -> None:
    out = tmp_path / "o"
    config = tmp_path / "c.yaml"
    config.write_text(
        INPUT.format(count=2)
        + f"""
output:
  resource: sink
  processors:
    - mapping: 'root = this.id * 100'
output_resources:
  - label: sink
    file: {{path: {out}}}
http: {{enabled: false}}
"""
    )
    lint = run_cli("lint", str(config))
    assert lint.returncode == 0, lint.stdout + lint.stderr
    result = run_cli("run", str(config))
    assert result.returncode == 0, result.stderr
    assert out.read_text().splitlines() == ["100", "200"]


def test_lint_finds_mistakes_inside_workflow_branches_and_wrapper_lists(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        """
pipeline:
  processors:
    - workflow:
        branches:
          a:
            processors:
              - mappping: 'root = 1'
    - for_each:
        - label: twice
          noop: {}
        - label: twice
          noop: {}
output:
  fallback:
    - drop: {}
    - stdoutt: {}
"""
    )
    lint = run_cli("lint", str(config))
    assert lint.returncode == 1
    assert "(8,17) unable to infer processor type from candidates: [mappping]" in lint.stdout + lint.stderr
    assert "label 'twice' collides with a previously defined label" in lint.stdout + lint.stderr
    assert "unable to infer output type from candidates: [stdoutt]" in lint.stdout + lint.stderr
