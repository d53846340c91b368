"""The data-format processors (compress, decompress, jmespath, jq, grok, msgpack, xml) and the
refused awk, run in pipelines through the real CLI."""

from __future__ import annotations

import base64
import bz2
import gzip
import json
from pathlib import Path

import msgpack

from tests.component_runs import REPORT, file_input, lint, run_lines


def pipeline(
    tmp_path: Path, lines: list[str] | bytes, processors: str, output: str = "stdout: {}"
) -> list[dict]:
    config = file_input(tmp_path, lines) + "pipeline:\n  threads: 1\n  processors:\n" + processors + REPORT
    return run_lines(tmp_path, config + f"output:\n  {output}\n")


def test_compress_then_decompress_round_trips_and_gzip_output_is_readable(tmp_path: Path):
    out = pipeline(
        tmp_path,
        ["hello world", "second"],
        "    - compress: {algorithm: gzip}\n"
        "    - mapping: 'meta gz = content().encode(\"base64\")'\n"
        "    - decompress: {algorithm: gzip}\n",
    )
    assert [m["content"] for m in out] == ["hello world", "second"]
    assert gzip.decompress(base64.b64decode(out[0]["meta"]["gz"])) == b"hello world"
    assert all(m["error"] is None for m in out)


def test_decompress_reads_bzip2_and_flags_garbage_without_dropping_it(tmp_path: Path):
    (tmp_path / "b.bz2").write_bytes(bz2.compress(b"from bzip2"))
    config = f"""
input:
  file:
    paths: [{json.dumps(str(tmp_path / "b.bz2"))}, {json.dumps(str(tmp_path / "junk"))}]
    codec: all-bytes
pipeline:
  threads: 1
  processors:
    - decompress: {{algorithm: bzip2}}
{REPORT}output:
  stdout: {{}}
"""
    (tmp_path / "junk").write_bytes(b"not compressed")
    out = run_lines(tmp_path, config)
    assert out[0]["content"] == "from bzip2" and out[0]["error"] is None
    assert out[1]["content"] == "not compressed"
    assert out[1]["error"].startswith("failed to decompress message")


def test_jmespath_replaces_the_payload_with_the_query_result(tmp_path: Path):
    out = pipeline(
        tmp_path,
        [
            '{"locations":[{"name":"Seattle","state":"WA"},{"name":"Bellevue","state":"WA"},{"name":"Olympia","state":"WA"}]}',
            "nope",
        ],
        "    - jmespath:\n        query: \"locations[?state == 'WA'].name | sort(@) | {Cities: join(', ', @)}\"\n",
    )
    assert json.loads(out[0]["content"]) == {"Cities": "Bellevue, Olympia, Seattle"}
    assert out[1]["content"] == "nope" and "JSON" in out[1]["error"]


def test_jmespath_query_that_does_not_compile_fails_lint(tmp_path: Path):
    result = lint(tmp_path, "pipeline:\n  processors:\n    - jmespath: {query: 'foo[?'}\n")
    assert result.returncode == 1
    assert "failed to compile JMESPath query" in result.stderr


def test_jq_results_metadata_raw_output_and_empty_results(tmp_path: Path):
    out = pipeline(
        tmp_path,
        ['{"in":{"a":1,"b":2}}', '{"in":{}}'],
        "    - mapping: 'meta topic = \"orders\"'\n"
        "    - jq:\n        query: '.in | to_entries[] | {(.key): (.value + 1), topic: $metadata.topic}'\n",
    )
    # the first message gives two results (an array); the second none (dropped)
    assert len(out) == 1
    assert json.loads(out[0]["content"]) == [{"a": 2, "topic": "orders"}, {"b": 3, "topic": "orders"}]
    raw = pipeline(tmp_path, ['{"name":"x"}', "not json"], "    - jq: {query: '.name', output_raw: true}\n")
    assert raw[0]["content"] == "x"
    assert raw[1]["content"] == "not json" and raw[1]["error"]


def test_jq_raw_input_reads_the_payload_as_a_string(tmp_path: Path):
    out = pipeline(tmp_path, ["hello"], "    - jq: {query: 'ascii_upcase', raw: true}\n")
    assert json.loads(out[0]["content"]) == "HELLO"


def test_jq_syntax_error_fails_lint(tmp_path: Path):
    result = lint(tmp_path, "pipeline:\n  processors:\n    - jq: {query: '.['}\n")
    assert result.returncode == 1 and "error parsing jq query" in result.stderr


def test_grok_parses_vpc_flow_logs_with_types_as_upstreams_example(tmp_path: Path):
    out = pipeline(
        tmp_path,
        [
            "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
            "???",
        ],
        "    - grok:\n"
        "        expressions: ['%{VPCFLOWLOG}']\n"
        "        pattern_definitions:\n"
        "          VPCFLOWLOG: '%{NUMBER:version:int} %{NUMBER:accountid} %{NOTSPACE:interfaceid} %{NOTSPACE:srcaddr} "
        "%{NOTSPACE:dstaddr} %{NOTSPACE:srcport:int} %{NOTSPACE:dstport:int} %{NOTSPACE:protocol:int} "
        "%{NOTSPACE:packets:int} %{NOTSPACE:bytes:int} %{NUMBER:start:int} %{NUMBER:end:int} %{NOTSPACE:action} "
        "%{NOTSPACE:logstatus}'\n",
    )
    assert json.loads(out[0]["content"]) == {
        "accountid": "123456789010", "action": "ACCEPT", "bytes": 4249, "dstaddr": "172.31.16.21", "dstport": 22,
        "end": 1418530070, "interfaceid": "eni-1235b8ca123456789", "logstatus": "OK", "packets": 20, "protocol": 6,
        "srcaddr": "172.31.16.139", "srcport": 20641, "start": 1418530010, "version": 2,
    }  # fmt: skip
    assert out[1]["error"] == "no pattern matches found" and out[1]["content"] == "???"


def test_grok_default_apache_pattern_files_and_dotted_names(tmp_path: Path):
    patterns = tmp_path / "patterns"
    patterns.mkdir()
    (patterns / "mine").write_text("# comment\nGREETING hello|hi\n")
    out = pipeline(
        tmp_path,
        ['127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326', "hi there"],
        "    - grok:\n"
        "        expressions: ['%{COMMONAPACHELOG}', '%{GREETING:word.first} %{WORD:word.second}']\n"
        f"        pattern_paths: [{json.dumps(str(patterns))}]\n",
    )
    apache = json.loads(out[0]["content"])
    assert apache["clientip"] == "127.0.0.1" and apache["verb"] == "GET" and apache["response"] == "200"
    assert json.loads(out[1]["content"]) == {"word": {"first": "hi", "second": "there"}}


def test_grok_unknown_pattern_fails_lint_naming_it(tmp_path: Path):
    result = lint(tmp_path, "pipeline:\n  processors:\n    - grok: {expressions: ['%{NOPE:x}']}\n")
    assert result.returncode == 1 and "no pattern found for %{NOPE}" in result.stderr


def test_msgpack_from_json_and_back(tmp_path: Path):
    out = pipeline(
        tmp_path,
        ['{"a":[1,2.5,"x",true,null]}'],
        "    - msgpack: {operator: from_json}\n"
        "    - mapping: 'meta packed = content().encode(\"base64\")'\n"
        "    - msgpack: {operator: to_json}\n",
    )
    assert json.loads(out[0]["content"]) == {"a": [1, 2.5, "x", True, None]}
    assert msgpack.unpackb(base64.b64decode(out[0]["meta"]["packed"])) == {"a": [1, 2.5, "x", True, None]}


def test_msgpack_to_json_flags_a_payload_that_is_not_msgpack(tmp_path: Path):
    out = pipeline(tmp_path, b"\xc1", "    - msgpack: {operator: to_json}\n")
    assert out[0]["error"].startswith("converting MsgPack document to JSON")


def test_xml_to_json_attributes_text_arrays_and_cast(tmp_path: Path):
    doc = '<root><title lang="en">Hello</title><n>5</n><n>6.5</n><flag>true</flag><empty/><!-- c --></root>'
    plain = pipeline(tmp_path, [doc, "<broken"], "    - xml: {operator: to_json}\n")
    assert json.loads(plain[0]["content"]) == {
        "root": {"title": {"-lang": "en", "#text": "Hello"}, "n": ["5", "6.5"], "flag": "true", "empty": ""}
    }
    assert plain[1]["content"] == "<broken" and "XML" in plain[1]["error"]
    cast = pipeline(tmp_path, [doc], "    - xml: {operator: to_json, cast: true}\n")
    assert json.loads(cast[0]["content"])["root"]["n"] == [5, 6.5]
    assert json.loads(cast[0]["content"])["root"]["flag"] is True


def test_xml_without_an_operator_fails_lint(tmp_path: Path):
    result = lint(tmp_path, "pipeline:\n  processors:\n    - xml: {}\n")
    assert result.returncode == 1 and "operator not recognised" in result.stderr


def test_awk_is_refused_at_lint_with_the_alternatives(tmp_path: Path):
    result = lint(tmp_path, "pipeline:\n  processors:\n    - awk: {program: '{ print $1 }'}\n")
    assert result.returncode == 1
    assert "awk processor is not supported by benthic" in result.stderr
    assert "command or subprocess" in result.stderr
