"""The javascript processor, run in pipelines through the real CLI: upstream's message API, thrown
errors, require() from real files, v0_fetch against a real server on 127.0.0.1, and the bounds
that stop a runaway program."""

from __future__ import annotations

import json
from pathlib import Path

from tests.component_runs import REPORT, file_input, lint, run_config, run_lines, run_reported, write
from tests.http_upstream import Upstream
from tests.pipeline.conftest import cli_env, run_cli


def javascript(code: str, **fields: object) -> str:
    """A ``javascript`` processor entry with ``code`` as a block scalar and further fields."""
    lines = ["    - javascript:"]
    lines += [f"        {key}: {json.dumps(value)}" for key, value in fields.items()]
    lines.append("        code: |")
    lines += [f"          {line}" for line in code.strip("\n").splitlines()]
    return "\n".join(lines) + "\n"


def test_the_message_api_reads_and_writes_payloads_and_metadata(tmp_path: Path):
    out = run_reported(
        tmp_path,
        ['{"a":"a value","b":"b value"}', "hello json"],
        # upstream's examples: a raw string mutation, then a structured one
        "    - javascript:\n"
        '        code: \'benthos.v0_msg_set_meta("raw", benthos.v0_msg_as_string() + " seen");\'\n'
        + javascript(
            """
(() => {
  let doc;
  try {
    doc = benthos.v0_msg_as_structured();
  } catch (e) {
    benthos.v0_msg_set_meta("parse_error", e);
    benthos.v0_msg_set_string(benthos.v0_msg_as_string() + "!");
    return;
  }
  doc.num_keys = Object.keys(doc).length;
  delete doc["b"];
  benthos.v0_msg_set_structured({z: 1, y: doc});
  benthos.v0_msg_set_meta("as_string", benthos.v0_msg_as_string());
  benthos.v0_msg_set_meta("list", ["first", "second"]);
  benthos.v0_msg_set_meta("number", 123.4);
  benthos.v0_msg_set_meta("again", benthos.v0_msg_get_meta("number") + " two");
  benthos.v0_msg_set_meta("exists", [benthos.v0_msg_exists_meta("raw"), benthos.v0_msg_exists_meta("nope")]);
  try {
    benthos.v0_msg_get_meta("nope");
  } catch (e) {
    benthos.v0_msg_set_meta("missing", e);
  }
})();
"""
        ),
    )
    assert out[0]["error"] is None
    assert json.loads(out[0]["content"]) == {"y": {"a": "a value", "num_keys": 2}, "z": 1}
    meta = out[0]["meta"]
    assert meta["raw"] == '{"a":"a value","b":"b value"} seen'
    # the payload as a string is Go's JSON of the value: keys sorted
    assert meta["as_string"] == '{"y":{"a":"a value","num_keys":2},"z":1}'
    assert (meta["list"], meta["number"], meta["again"]) == (["first", "second"], 123.4, "123.4 two")
    assert meta["exists"] == [True, False]
    assert meta["missing"] == "key not found"
    assert (out[1]["content"], out[1]["error"]) == ("hello json!", None)
    assert out[1]["meta"]["raw"] == "hello json seen"
    assert out[1]["meta"]["parse_error"] == "invalid character 'h' looking for beginning of value"


def test_a_thrown_error_flags_the_whole_batch_and_stops_it(tmp_path: Path):
    config = (
        "input:\n  generate:\n    count: 3\n    batch_size: 3\n    interval: ''\n"
        "    mapping: 'root = \"m\" + counter().string()'\n"
        "pipeline:\n  threads: 1\n  processors:\n"
        + javascript(
            """
(() => {
  const text = benthos.v0_msg_as_string();
  benthos.v0_msg_set_string(text + " seen");
  if (text === "m2") {
    throw new Error("boom on " + text);
  }
})();
"""
        )
        + REPORT
        + "output:\n  stdout: {}\n"
    )
    out = run_lines(tmp_path, config)
    # as upstream: messages before the failing one keep their changes, later ones are untouched
    assert [m["content"] for m in out] == ["m1 seen", "m2 seen", "m3"]
    assert len({m["error"] for m in out}) == 1
    assert out[0]["error"].startswith("Error: boom on m2 at main.js:5:")


def test_a_runaway_program_is_stopped_and_the_pipeline_goes_on(tmp_path: Path):
    out = run_reported(
        tmp_path,
        ["loop", "bomb", "fine"],
        javascript(
            """
if (benthos.v0_msg_as_string() === "loop") {
  while (true) {}
}
if (benthos.v0_msg_as_string() === "bomb") {
  let grow = [];
  while (true) { grow.push("a string that takes some room " + grow.length); }
}
benthos.v0_msg_set_string("done");
""",
            timeout="300ms",
            max_memory=16 * 1024 * 1024,
        ),
    )
    assert out[0]["content"] == "loop"
    assert out[0]["error"] == "javascript: the program ran past its timeout of 0.3s"
    assert out[1]["content"] == "bomb"
    assert out[1]["error"] == "javascript: the program went past its memory limit of 16777216 bytes"
    assert (out[2]["content"], out[2]["error"]) == ("done", None)


def test_a_program_from_a_file_requires_modules_as_node_does(tmp_path: Path):
    scripts = tmp_path / "scripts"
    (scripts / "lib").mkdir(parents=True)
    (scripts / "lib" / "shout.js").write_text("module.exports = (s) => s.toUpperCase();\n")
    package = scripts / "node_modules" / "greeting"
    package.mkdir(parents=True)
    (package / "package.json").write_text('{"main": "src/main.js"}')
    (package / "src").mkdir()
    (package / "src" / "main.js").write_text('exports.word = require("../words.json").hello;\n')
    (package / "words.json").write_text('{"hello": "hi"}')
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "blobber.js").write_text("module.exports = function () { return 'blobber module'; };\n")
    (scripts / "main.js").write_text(
        """
var runs = typeof runs === "undefined" ? 1 : runs + 1; // a new global scope for every message
let shout = require("./lib/shout");
let missing;
try {
  require("no-such-module");
} catch (e) {
  missing = String(e);
}
benthos.v0_msg_set_string(
  [shout(benthos.v0_msg_as_string()), require("greeting").word, require("blobber")(), missing, runs].join(" | ")
);
"""
    )
    out = run_reported(
        tmp_path,
        ["first", "second"],
        f"    - javascript:\n        file: {json.dumps(str(scripts / 'main.js'))}\n"
        f"        global_folders: [{json.dumps(str(shared))}]\n",
    )
    assert [(m["content"], m["error"]) for m in out] == [
        ("FIRST | hi | blobber module | GoError: Invalid module | 1", None),
        ("SECOND | hi | blobber module | GoError: Invalid module | 1", None),
    ]


def test_v0_fetch_sends_the_request_and_console_logs_once_per_message(tmp_path: Path):
    with Upstream() as up:
        config = (
            file_input(tmp_path, ["first", "second"])
            + "pipeline:\n  threads: 1\n  processors:\n"
            + javascript(
                f"""
(() => {{
  console.log("fetching for %s", benthos.v0_msg_as_string());
  let reply = benthos.v0_fetch("{up.url}/echo", {{"X-Id": benthos.v0_msg_as_string()}}, "POST", benthos.v0_msg_as_string());
  let refused;
  try {{
    benthos.v0_fetch("http://127.0.0.1:1/nothing", {{}}, "GET", "");
  }} catch (e) {{
    refused = e;
  }}
  console.warn("status", reply.status);
  benthos.v0_msg_set_string(reply.status + ": " + reply.body);
  benthos.v0_msg_set_meta("refused", refused);
}})();
"""
            )
            + REPORT
            + "output:\n  stdout: {}\n"
        )
        result = run_config(tmp_path, config)
        assert result.returncode == 0, result.stderr
        out = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        assert [(m["content"], m["error"]) for m in out] == [
            ("200: echo:first", None),
            ("200: echo:second", None),
        ]
        assert out[0]["meta"]["refused"] == (
            'Get "http://127.0.0.1:1/nothing": dial tcp 127.0.0.1:1: connect: connection refused'
        )
        assert [(method, body, headers.get("X-Id")) for method, _, headers, body in up.requests] == [
            ("POST", b"first", "first"),
            ("POST", b"second", "second"),
        ]
    # the program ran again after each answer, but what it logged is kept from its last run only
    assert result.stderr.count('msg="fetching for first"') == 1
    assert result.stderr.count('msg="fetching for second"') == 1
    assert result.stderr.count('level=warning msg="status 200"') == 2


def test_lint_wants_exactly_one_of_code_and_file(tmp_path: Path):
    result = lint(
        tmp_path,
        "pipeline:\n  processors:\n    - javascript: {}\n    - javascript:\n        code: 'x'\n        file: x.js\n",
    )
    assert result.returncode == 1
    assert "either the code or file field must be specified" in result.stdout + result.stderr
    assert "cannot specify both the code and file fields" in result.stdout + result.stderr


def test_a_syntax_error_stops_the_start_and_lint_names_a_missing_engine(tmp_path: Path):
    result = run_config(
        tmp_path,
        "input:\n  generate:\n    count: 1\n    interval: ''\n    mapping: 'root = 1'\n"
        "pipeline:\n  processors:\n    - javascript:\n        code: 'let a = ;'\n"
        "output:\n  stdout: {}\n",
    )
    assert result.returncode != 0
    assert "compiling javascript code: SyntaxError" in result.stderr
    assert "(main.js:1:9)" in result.stderr

    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['quickjs'] = None\n")
    config = write(tmp_path, "pipeline:\n  processors:\n    - javascript:\n        code: 'x'\n", "lint.yaml")
    result = run_cli("lint", config, env=cli_env(pythonpath=[str(blocker)]))
    assert result.returncode == 1
    assert "pip install 'benthic[javascript]'" in result.stdout + result.stderr


def test_a_payload_that_is_not_json_fails_to_parse_with_gos_words_for_its_bytes(tmp_path: Path):
    # Go's scanner shows the offending byte (0xFF as 'ÿ'), not the character the text decodes to
    code = """
try {
  benthos.v0_msg_as_structured();
} catch (e) {
  benthos.v0_msg_set_meta("parse_error", e);
}
"""
    for payload, want in [
        (b"\xff{}", "invalid character '\u00ff' looking for beginning of value"),
        (b'{"a": nul}', "invalid character '}' in literal null (expecting 'l')"),
        (b"{} {}", "message contains multiple valid documents"),
    ]:
        config = file_input(tmp_path, payload) + "pipeline:\n  processors:\n" + javascript(code) + REPORT
        out = run_lines(tmp_path, config + "output:\n  stdout: {}\n")
        assert out[0]["meta"]["parse_error"] == want
