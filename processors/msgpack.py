"""The ``msgpack`` processor: convert payloads between MessagePack and JSON.

``to_json`` decodes a MessagePack document into a structured payload; ``from_json`` encodes a
JSON payload as MessagePack. A payload that cannot be converted is flagged with the error and
left as it was, as upstream. The codec is the ``msgpack`` package (an optional extra:
``pip install 'benthic[formats]'``). Where we differ: MessagePack extension types have no JSON
form here and fail the message instead of passing through as opaque values.
"""

from __future__ import annotations

from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, enum

SPEC = ComponentSpec(
    "msgpack",
    "processor",
    summary="Converts messages between MessagePack and JSON.",
    categories=("Parsing",),
    status="beta",
    fields=[enum("operator", ("from_json", "to_json"), "Which way to convert.")],
)


def _msgpack() -> Any:
    try:
        import msgpack  # optional dependency: the "formats" extra
    except ImportError:
        raise ValueError(
            "the msgpack processor needs the msgpack package: pip install 'benthic[formats]'"
        ) from None
    return msgpack


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ValueError(f"value of type {type(value).__name__} has no JSON form")


class MsgPack:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.codec = _msgpack()
        self.to_json = conf["operator"] == "to_json"

    def _convert(self, msg: Message) -> None:
        if self.to_json:
            try:
                value = self.codec.unpackb(msg.content, raw=False, strict_map_key=False)
                msg.set_structured(_jsonable(value))
            except Exception as err:
                raise ValueError(f"converting MsgPack document to JSON: {err}") from None
            return
        try:
            value = msg.structured()
        except ValueError as err:
            raise ValueError(f"parsing message as JSON: {err}") from None
        try:
            msg.content = self.codec.packb(_jsonable(value), use_bin_type=True)
        except Exception as err:
            raise ValueError(f"converting JSON to MsgPack: {err}") from None

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        for msg in batch:
            try:
                self._convert(msg)
            except ValueError as err:
                msg.error = str(err)
        return [batch]

    async def close(self) -> None:
        return None


register_processor(SPEC, MsgPack)
