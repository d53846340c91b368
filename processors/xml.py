"""The ``xml`` processor: parse XML payloads into structured JSON.

The only operator is ``to_json``, with upstream's shape: an element's attributes become keys
with a ``-`` prefix, the text of an element that also has attributes goes under ``#text``,
repeated child elements become an array, comments and processing instructions are dropped, and
an empty element is an empty string. With ``cast: true`` text that reads as a number or a boolean
becomes one. A payload that is not XML is flagged with the error and left as it was.

Parsing is the ``xmltodict`` package on the standard library's expat (an optional extra:
``pip install 'benthic[formats]'``), which expands no external entities. Where we differ:
upstream's parser is lenient about some malformed documents that expat rejects.
"""

from __future__ import annotations

from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, boolean, enum

SPEC = ComponentSpec(
    "xml",
    "processor",
    summary="Turns XML documents into structured JSON.",
    categories=("Parsing",),
    status="beta",
    fields=[
        enum("operator", ("to_json",), "What to do with each payload.", default=""),
        boolean("cast", "Turn text that reads as a number or a boolean into one.", default=False),
    ],
)


def _lint(conf: Any) -> list[str]:
    if conf["operator"] != "to_json":
        return [f"operator not recognised: {conf['operator']}"]
    return []


SPEC.lint = _lint


def _xmltodict() -> Any:
    try:
        import xmltodict  # optional dependency: the "formats" extra
    except ImportError:
        raise ValueError(
            "the xml processor needs the xmltodict package: pip install 'benthic[formats]'"
        ) from None
    return xmltodict


def _cast_text(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    try:
        number = float(text)
    except ValueError:
        return text
    if number != number or number in (float("inf"), float("-inf")):
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def _tidy(value: Any, cast: bool) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict):
        return {k: _tidy(v, cast) for k, v in value.items()}
    if isinstance(value, list):
        return [_tidy(v, cast) for v in value]
    if cast and isinstance(value, str):
        return _cast_text(value)
    return value


def xml_to_structured(data: bytes, cast: bool) -> Any:
    parsed = _xmltodict().parse(data, attr_prefix="-", cdata_key="#text", disable_entities=True)
    return _tidy(parsed, cast)


class Xml:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        _xmltodict()
        self.cast = conf["cast"]

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        for msg in batch:
            try:
                msg.set_structured(xml_to_structured(msg.content, self.cast))
            except Exception as err:
                msg.error = f"failed to parse message as XML: {err}"
        return [batch]

    async def close(self) -> None:
        return None


register_processor(SPEC, Xml)
