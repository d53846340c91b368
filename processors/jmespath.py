"""The ``jmespath`` processor: replace each JSON message with the result of a JMESPath query.

As upstream, the query runs on the parsed payload and its result becomes the new payload (a
``null`` result gives ``null``); a payload that is not JSON, or a query that fails at run time,
flags the message and leaves it as it was. The query language comes from the ``jmespath`` package
(an optional extra: ``pip install 'benthic[formats]'``); a query that does not compile fails lint.
"""

from __future__ import annotations

from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, string

SPEC = ComponentSpec(
    "jmespath",
    "processor",
    summary="Runs a JMESPath query on each JSON message and puts the result in its place.",
    categories=("Mapping",),
    fields=[string("query", "The JMESPath query to run.")],
)


def _jmespath() -> Any:
    try:
        import jmespath  # optional dependency: the "formats" extra
    except ImportError:
        raise ValueError(
            "the jmespath processor needs the jmespath package: pip install 'benthic[formats]'"
        ) from None
    return jmespath


def _lint(conf: Any) -> list[str]:
    try:
        _jmespath().compile(conf["query"])
    except ValueError as err:
        return [f"failed to compile JMESPath query: {err}"]
    except Exception as err:
        return [f"failed to compile JMESPath query: {err}"]
    return []


SPEC.lint = _lint


def _plain_numbers(value: Any) -> Any:
    """JMESPath compares Python numbers; our JSON values may carry Go's int/float wrappers."""
    if isinstance(value, dict):
        return {k: _plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_numbers(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


class Jmespath:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.query = _jmespath().compile(conf["query"])

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        for msg in batch:
            try:
                data = _plain_numbers(msg.structured())
            except ValueError as err:
                msg.error = f"failed to parse message as JSON: {err}"
                continue
            try:
                result = self.query.search(data)
            except Exception as err:
                msg.error = f"failed to search JSON: {err}"
                continue
            msg.set_structured(result)
        return [batch]

    async def close(self) -> None:
        return None


register_processor(SPEC, Jmespath)
