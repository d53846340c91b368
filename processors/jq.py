"""The ``jq`` processor: run a jq program on each message.

As upstream (which embeds gojq): the program reads the parsed JSON payload (or the raw text with
``raw: true``) and may read the message's metadata as ``$metadata``. One result replaces the
payload; several become a JSON array; none drops the message. With ``output_raw: true`` string
results are written as text without quotes and all results are joined with nothing between them
(an empty result still drops the message). A payload that is not JSON or a program that fails at
run time flags the message and leaves it as it was.

Where we differ: the language is the C jq's (through the ``jq`` package, an optional extra:
``pip install 'benthic[formats]'``), which gojq follows closely; a program that reads
``$metadata`` is compiled once per message, as the C library binds variables at compile time.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, boolean, string

SPEC = ComponentSpec(
    "jq",
    "processor",
    summary="Transforms each message with a jq program.",
    categories=("Mapping",),
    fields=[
        string("query", "The jq program to run."),
        boolean(
            "raw", "Give the program the payload as a string instead of parsing it as JSON.", default=False
        ),
        boolean(
            "output_raw",
            "Write string results as plain text instead of JSON strings, joining all results.",
            default=False,
        ),
    ],
)


def _jq() -> Any:
    try:
        import jq  # optional dependency: the "formats" extra
    except ImportError:
        raise ValueError("the jq processor needs the jq package: pip install 'benthic[formats]'") from None
    return jq


def _compile(query: str, metadata: dict[str, Any] | None) -> Any:
    if metadata is None:
        return _jq().compile(query)
    return _jq().compile(query, args={"metadata": metadata})


def _lint(conf: Any) -> list[str]:
    try:
        _compile(conf["query"], {} if "$metadata" in conf["query"] else None)
    except ValueError as err:
        return [f"error parsing jq query: {err}"]
    return []


SPEC.lint = _lint


class Jq:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.query = conf["query"]
        self.uses_metadata = "$metadata" in self.query
        self.program = None if self.uses_metadata else _compile(self.query, None)
        self.raw = conf["raw"]
        self.output_raw = conf["output_raw"]

    def _run(self, msg: Message) -> list[Any]:
        program = self.program
        if program is None:
            meta = {
                k: v if isinstance(v, (str, int, float, bool)) else msg.meta_str(k)
                for k, v in msg.metadata.items()
            }
            program = _compile(self.query, meta)
        if self.raw:
            return list(program.input_value(msg.content.decode("utf-8", "replace")).all())
        return list(program.input_text(msg.content.decode("utf-8", "replace")).all())

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        out: list[Message] = []
        for msg in batch:
            try:
                emitted = self._run(msg)
            except ValueError as err:
                msg.error = str(err)
                out.append(msg)
                continue
            if not emitted:
                continue
            if self.output_raw:
                msg.content = b"".join(
                    v.encode() if isinstance(v, str) else json.dumps(v, separators=(",", ":")).encode()
                    for v in emitted
                )
            else:
                msg.set_structured(emitted[0] if len(emitted) == 1 else emitted)
            out.append(msg)
        return [out] if out else []

    async def close(self) -> None:
        return None


register_processor(SPEC, Jq)
