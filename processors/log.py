"""The ``log`` processor: print a log line per message, leaving the message unchanged.

``message`` is interpolated per message (``${!error()}`` gives the error text); ``fields_mapping``
must yield an object whose keys become log fields. A failed mapping or interpolation logs an
error instead of the line, as upstream does. Every line carries ``custom_source=true``.
"""

from __future__ import annotations

from typing import Any

from mapping_lang.value import type_name
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, bloblang, interp, string

LEVELS = ("ERROR", "WARN", "INFO", "DEBUG", "TRACE")

SPEC = ComponentSpec(
    "log",
    "processor",
    summary="Writes one log line per message and passes the message on as it was.",
    description="`message` is interpolated, so the line can include the payload or metadata of the message being logged.",
    fields=[
        string(
            "level",
            "Level the line is logged at.",
            default="INFO",
            check=lambda v: None if str(v).upper() in LEVELS else f"log level not recognised: {v}",
        ),
        bloblang(
            "fields_mapping",
            "A Bloblang mapping whose resulting object is added to the log line as structured fields.",
            optional=True,
        ),
        interp("message", "Text of the log line.", default=""),
        interp(
            "fields",
            "Extra key/value pairs logged with the line (replaced by `fields_mapping`).",
            kind="map",
            default={},
            deprecated=True,
        ),
    ],
)


class Log:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.res = res
        self.level = conf["level"].upper()
        self.message = res.interpolation(conf["message"])
        self.fields_mapping = res.mapping(conf["fields_mapping"]) if conf.get("fields_mapping") else None
        self.fields = {k: res.interpolation(v) for k, v in (conf.get("fields") or {}).items()}
        self.logger = res.logger.with_fields(custom_source=True)

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        if not self.logger.enabled(self.level):
            return [batch]
        for index, msg in enumerate(batch):
            self._log_one(msg, batch, index)
        return [batch]

    def _log_one(self, msg: Message, batch: list[Message], index: int) -> None:
        fields: dict[str, Any] = {}
        if self.fields_mapping is not None:
            try:
                mapped = self.fields_mapping.map_message(msg, batch, index)
            except Exception as err:
                self.res.logger.error(f"Failed to execute fields mapping: {err}")
                return
            try:
                value = None if mapped is None else mapped.structured()
            except Exception as err:
                self.res.logger.error(f"Failed to extract fields object: {err}")
                return
            if not isinstance(value, dict):
                self.res.logger.error(
                    f"Fields mapping yielded a non-object result: {_go_type(type_name(value))}"
                )
                return
            fields.update(sorted(value.items()))
        for key, field in self.fields.items():
            try:
                fields[key] = field.render(msg, batch, index)
            except Exception as err:
                self.res.logger.error(f"Field {key} interpolation error: {err}")
                return
        try:
            text = self.message.render(msg, batch, index)
        except Exception as err:
            self.res.logger.error(f"Message interpolation error: {err}")
            return
        self.logger.log(self.level, text, **fields)

    async def close(self) -> None:
        return None


def _go_type(bloblang_type: str) -> str:
    return {
        "array": "[]interface {}",
        "string": "string",
        "number": "float64",
        "bool": "bool",
        "null": "<nil>",
    }.get(bloblang_type, bloblang_type)


register_processor(SPEC, lambda conf, res: Log(conf, res))
