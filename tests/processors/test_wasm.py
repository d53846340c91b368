"""The wasm processor, run in pipelines through the real CLI on guest modules written as
WebAssembly text: upstream's ``benthos_wasm`` host functions, both allocation conventions, host
errors, traps, and the bound that stops a module that never returns."""

from __future__ import annotations

import json
from pathlib import Path

from tests.component_runs import reported_pipeline, run_config, run_lines, write
from tests.pipeline.conftest import cli_env, run_cli

# Bump allocation from offset 1024, reset for every message; Rust's convention (allocate/deallocate).
UPPERCASE = """
(module
  (import "benthos_wasm" "v0_msg_as_bytes" (func $as_bytes (result i64)))
  (import "benthos_wasm" "v0_msg_set_bytes" (func $set_bytes (param i32 i32)))
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 1024))
  (func (export "allocate") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $n)))
    (local.get $p))
  (func (export "deallocate") (param i32 i32))
  (func (export "process") (local $pl i64) (local $p i32) (local $n i32) (local $i i32) (local $c i32)
    (global.set $next (i32.const 1024))
    (local.set $pl (call $as_bytes))
    (local.set $p (i32.wrap_i64 (i64.shr_u (local.get $pl) (i64.const 32))))
    (local.set $n (i32.wrap_i64 (local.get $pl)))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $c (i32.load8_u (i32.add (local.get $p) (local.get $i))))
      (if (i32.and (i32.ge_u (local.get $c) (i32.const 97)) (i32.le_u (local.get $c) (i32.const 122)))
        (then (i32.store8 (i32.add (local.get $p) (local.get $i)) (i32.sub (local.get $c) (i32.const 32)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
    (call $set_bytes (local.get $p) (local.get $n))))
"""

# Go's convention (malloc/free): copies metadata "in" to "copy" and sets "seen"; counts frees.
METADATA = """
(module
  (import "benthos_wasm" "v0_msg_get_meta" (func $get_meta (param i32 i32) (result i64)))
  (import "benthos_wasm" "v0_msg_set_meta" (func $set_meta (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "inseenyescopyfrees")
  (global $next (mut i32) (i32.const 1024))
  (global $frees (mut i32) (i32.const 48))
  (func (export "malloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $n)))
    (local.get $p))
  (func (export "free") (param i32)
    (global.set $frees (i32.add (global.get $frees) (i32.const 1)))
    (i32.store8 (i32.const 100) (global.get $frees)))
  (func (export "process") (local $pl i64)
    (global.set $next (i32.const 1024))
    (call $set_meta (i32.const 2) (i32.const 4) (i32.const 6) (i32.const 3))
    (local.set $pl (call $get_meta (i32.const 0) (i32.const 2)))
    (call $set_meta (i32.const 9) (i32.const 4)
      (i32.wrap_i64 (i64.shr_u (local.get $pl) (i64.const 32))) (i32.wrap_i64 (local.get $pl)))
    (call $set_meta (i32.const 13) (i32.const 5) (i32.const 100) (i32.const 1))))
"""

# Hands the host a payload outside its memory: a host error, so the message leaves as it came.
BAD_POINTER = """
(module
  (import "benthos_wasm" "v0_msg_set_bytes" (func $set_bytes (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "run") (call $set_bytes (i32.const 65530) (i32.const 100))))
"""

TRAP = '(module (memory (export "memory") 1) (func (export "process") unreachable))'
FOREVER = '(module (memory (export "memory") 1) (func (export "process") (loop $l (br $l))))'


def module(tmp_path: Path, name: str, wat: str) -> str:
    path = tmp_path / f"{name}.wat"
    path.write_text(wat)
    return str(path)


def wasm(path: str, **fields: object) -> str:
    lines = ["    - wasm:", f"        module_path: {json.dumps(path)}"]
    lines += [f"        {key}: {json.dumps(value)}" for key, value in fields.items()]
    return "\n".join(lines) + "\n"


def test_a_module_rewrites_the_payload_and_metadata_through_the_host_functions(tmp_path: Path):
    config = reported_pipeline(
        tmp_path,
        ["hello world", "second one"],
        "    - mapping: 'meta in = content().string().length()'\n"
        + wasm(module(tmp_path, "upper", UPPERCASE))
        + wasm(module(tmp_path, "meta", METADATA))
        + wasm(module(tmp_path, "bad", BAD_POINTER), function="run"),
    )
    out = run_lines(tmp_path, config)
    assert [m["content"] for m in out] == ["HELLO WORLD", "SECOND ONE"]
    assert out[0]["meta"]["seen"] == "yes"
    assert out[0]["meta"]["copy"] == "11"
    # the first message's one allocation (its metadata value) went back to free after its call
    assert out[1]["meta"]["frees"] == "1"
    assert out[1]["meta"]["copy"] == "10"
    assert [m["error"] for m in out] == ["reading out-bound memory: prevented read"] * 2


def test_a_trap_flags_the_batch_and_a_module_that_never_returns_is_stopped(tmp_path: Path):
    trap = module(tmp_path, "trap", TRAP)
    forever = module(tmp_path, "loop", FOREVER)
    config = reported_pipeline(
        tmp_path,
        ["one"],
        f"    - wasm:\n        module_path: {json.dumps(trap)}\n"
        "    - catch:\n        - mapping: 'meta trapped = error()'\n"
        f"    - wasm:\n        module_path: {json.dumps(forever)}\n        timeout: 200ms\n",
    )
    out = run_lines(tmp_path, config)
    assert out[0]["content"] == "one"
    assert out[0]["meta"]["trapped"] == "wasm error: unreachable"
    assert out[0]["error"] == "wasm: the module ran past its timeout of 0.2s"


def test_a_missing_export_or_module_file_stops_the_run_with_the_reason(tmp_path: Path):
    missing_export = run_config(
        tmp_path, reported_pipeline(tmp_path, ["x"], wasm(module(tmp_path, "t", TRAP), function="nope"))
    )
    assert missing_export.returncode != 0
    assert "function 'nope' is not exported by the WASM module" in missing_export.stderr
    missing_file = run_config(
        tmp_path, reported_pipeline(tmp_path, ["x"], wasm(str(tmp_path / "absent.wasm")))
    )
    assert missing_file.returncode != 0
    assert f"open {tmp_path / 'absent.wasm'}: no such file or directory" in missing_file.stderr


def test_lint_names_the_missing_extra_and_refuses_redpanda_data_transform(tmp_path: Path):
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['wasmtime'] = None\n")
    config = write(
        tmp_path,
        "pipeline:\n  processors:\n    - wasm:\n        module_path: m.wasm\n"
        "    - redpanda_data_transform:\n        module_path: m.wasm\n",
        "lint.yaml",
    )
    result = run_cli("lint", config, env=cli_env(pythonpath=[str(blocker)]))
    assert result.returncode == 1
    assert "pip install 'benthic[wasm]'" in result.stdout + result.stderr
    assert "redpanda_data_transform is not supported by benthic" in result.stdout + result.stderr
