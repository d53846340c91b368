"""The ffi processor, run in pipelines through the real CLI against a small C library compiled
with gcc for the tests: each argument and return type, ``out`` parameters, the errors a message
is flagged with, the build failing on a missing library or symbol, and lint."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.component_runs import REPORT, lint, reported_pipeline, run_config, run_lines

LIBRARY_SOURCE = r"""
#include <stdint.h>
#include <string.h>

static int64_t stored;

void store(int64_t v) { stored = v; }
int64_t load(void) { return stored; }
int32_t high_word(int64_t v) { return (int32_t)(v >> 32); }
int32_t add32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
int64_t add64(int64_t a, int64_t b) { return a + b; }

int32_t reverse(const void *in, void *out, int32_t len) {
  const char *src = in;
  char *dst = out;
  for (int32_t i = 0; i < len; i++) dst[i] = src[len - 1 - i];
  return len;
}

void fill(void *buf, int64_t len, int32_t byte) { memset(buf, byte, (size_t)len); }
int64_t text_length(const void *text) { return (int64_t)strlen(text); }
"""


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> str:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed: no C library to call")
    folder = tmp_path_factory.mktemp("ffi")
    source = folder / "calls.c"
    source.write_text(LIBRARY_SOURCE)
    path = folder / "libcalls.so"
    subprocess.run([gcc, "-shared", "-fPIC", "-o", str(path), str(source)], check=True, timeout=60)
    return str(path)


def ffi(library: str, function: str, args: str, returns: str, *params: str) -> str:
    """One ffi processor; a parameter ``byte*!`` is an ``out`` one."""
    lines = [
        "    - ffi:",
        f"        library_path: {json.dumps(library)}",
        f"        function_name: {function}",
        f"        args_mapping: {json.dumps(args)}",
        "        signature:",
        f"          return: {{type: {returns}}}",
        "          parameters:" + ("" if params else " []"),
    ]
    for param in params:
        out = param.endswith("!")
        lines.append(f"            - {{type: {json.dumps(param.rstrip('!'))}, out: {str(out).lower()}}}")
    return "\n".join(lines) + "\n"


def branch(name: str, processors: str) -> str:
    """Run ``processors`` on the message and keep their result at ``name``."""
    indented = "".join(f"          {line}\n" for line in processors.splitlines())
    return f"    - branch:\n        processors:\n{indented}        result_map: 'root.{name} = this'\n"


def test_each_argument_and_return_type_reaches_c_and_comes_back(tmp_path: Path, library: str):
    processors = (
        # void result: an empty array; the library's state outlives the call
        branch("stored", ffi(library, "store", "root = [this.n]", "void", "int64"))
        + branch("loaded", ffi(library, "load", "root = []", "int64"))
        + branch("high", ffi(library, "high_word", "root = [this.n]", "int32", "int64"))
        # int32 arguments keep the low 32 bits; the int32 result wraps as in C
        + branch("sum32", ffi(library, "add32", "root = [this.n, 2147483647]", "int32", "int32", "int32"))
        # a float is truncated towards zero
        + branch("sum64", ffi(library, "add64", "root = [this.n, -2.9]", "int64", "int64", "int64"))
        + branch(
            "reversed",
            ffi(
                library,
                "reverse",
                "root = [this.s, this.s, this.s.length()]",
                "int32",
                "byte*",
                "byte*!",
                "int32",
            ),
        )
        # bytes arguments are accepted too; an out parameter comes back as bytes (base64 in JSON)
        + branch(
            "filled",
            ffi(library, "fill", 'root = ["...".bytes(), 3, 65]', "void", "byte*!", "int64", "int32"),
        )
        # the copy handed to C ends in a zero byte, so C may read it as a string
        + branch("length", ffi(library, "text_length", "root = [this.s]", "int64", "byte*"))
        + "    - mapping: |\n"
        "        root = this\n"
        "        root.reversed = [this.reversed.0, this.reversed.1.string()]\n"
    )
    out = run_lines(
        tmp_path,
        reported_pipeline(tmp_path, ['{"n": 4294967297, "s": "hello"}', '{"n": -1, "s": ""}'], processors),
    )
    first, second = (json.loads(m["content"]) for m in out)
    assert [m["error"] for m in out] == [None, None]
    assert first["stored"] == [] and second["stored"] == []
    assert (first["loaded"], second["loaded"]) == ([4294967297], [-1])
    assert (first["high"], second["high"]) == ([1], [-1])
    assert (first["sum32"], second["sum32"]) == ([-2147483648], [2147483646])
    assert (first["sum64"], second["sum64"]) == ([4294967295], [-3])
    assert (first["reversed"], second["reversed"]) == ([5, "olleh"], [0, ""])
    assert first["filled"] == [base64.b64encode(b"AAA").decode()]
    assert (first["length"], second["length"]) == ([5], [0])


def test_arguments_that_do_not_fit_flag_the_message_and_leave_it_as_it_came(tmp_path: Path, library: str):
    processors = (
        "    - switch:\n"
        '        - check: this.case == "count"\n          processors:\n'
        + _nested(ffi(library, "add64", "root = [1]", "int64", "int64", "int64"))
        + '        - check: this.case == "number"\n          processors:\n'
        + _nested(ffi(library, "add64", 'root = [1, "two"]', "int64", "int64", "int64"))
        + '        - check: this.case == "bool"\n          processors:\n'
        + _nested(ffi(library, "add32", "root = [true, 1]", "int32", "int32", "int32"))
        + '        - check: this.case == "bytes"\n          processors:\n'
        + _nested(ffi(library, "text_length", "root = [5]", "int64", "byte*"))
    )
    cases = ["count", "number", "bool", "bytes"]
    lines = [json.dumps({"case": case}) for case in cases]
    out = run_lines(tmp_path, reported_pipeline(tmp_path, lines, processors))
    assert [m["content"] for m in out] == lines
    assert [m["error"] for m in out] == [
        "expected 2 args, got 1",
        'expected number value, got string ("two")',
        "expected number value, got bool (true)",
        "expected bytes value, got number (5)",
    ]


def _nested(processor: str) -> str:
    return "".join(f"      {line}\n" for line in processor.splitlines())


def test_an_args_mapping_that_fails_or_gives_no_array_flags_the_whole_batch(tmp_path: Path, library: str):
    # a batch of two, where only the second message's arguments are not an array
    config = (
        "input:\n  generate:\n    count: 2\n    batch_size: 2\n    interval: ''\n"
        "    mapping: 'root = {\"i\": counter()}'\n"
        "pipeline:\n  threads: 1\n  processors:\n"
        + ffi(library, "load", "root = if this.i == 1 { [] } else { this }", "int64")
        + "    - catch:\n        - mapping: 'meta first = error()'\n"
        + ffi(library, "load", "root = this.missing.number()", "int64")
        + REPORT
        + "output:\n  stdout: {}\n"
    )
    out = run_lines(tmp_path, config)
    assert [m["content"] for m in out] == ['{"i":1}', '{"i":2}']
    no_array = "extracting structured result from `args_mapping` bloblang: expected type []any, got map[string]interface {}"
    assert [m["meta"]["first"] for m in out] == [no_array, no_array]
    assert all(m["error"].startswith("executing `args_mapping` bloblang: ") for m in out)


def test_a_missing_library_or_symbol_stops_the_run_with_the_loaders_reason(tmp_path: Path, library: str):
    absent = str(tmp_path / "libabsent.so")
    no_library = run_config(
        tmp_path, reported_pipeline(tmp_path, ["{}"], ffi(absent, "load", "root = []", "int64"))
    )
    assert no_library.returncode != 0
    assert f"{absent}: cannot open shared object file: No such file or directory" in no_library.stderr
    no_symbol = run_config(
        tmp_path, reported_pipeline(tmp_path, ["{}"], ffi(library, "nowhere", "root = []", "int64"))
    )
    assert no_symbol.returncode != 0
    assert f'unable to find symbol "nowhere": {library}: undefined symbol: nowhere' in no_symbol.stderr


def test_lint_refuses_unknown_types_fields_and_an_out_parameter_that_is_no_pointer(tmp_path: Path):
    config = (
        "pipeline:\n  processors:\n"
        + ffi("libx.so", "f", "root = []", "int16")
        + ffi("libx.so", "f", "root = []", "void", "char*")
        + ffi("libx.so", "f", "root = []", "void", "int32!")
        + ffi("libx.so", "f", "root = [", "void")
        + "    - ffi:\n        library_path: libx.so\n        function: f\n"
    )
    result = lint(tmp_path, config)
    assert result.returncode == 1
    text = result.stdout + result.stderr
    assert "value int16 is not a valid option, expected one of: [void, int32, int64]" in text
    assert "value char* is not a valid option, expected one of: [byte*, int32, int64]" in text
    assert 'unsupported out parameter type, only pointers may be out parameters: "int32"' in text
    assert "failed to parse mapping" in text
    assert "field function not recognised" in text
    assert "field function_name is required" in text
