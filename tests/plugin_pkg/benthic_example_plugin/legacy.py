"""A plugin written against the plugin API's first import path, ``pipeline``: it keeps working."""

from __future__ import annotations

from typing import Any

from pipeline import Message, processor, spec


@processor("reverse", spec.ComponentSpec("reverse", "processor", summary="Reverses each message's bytes."))
def reverse(msg: Message, conf: Any) -> Message:
    return Message(msg.content[::-1], dict(msg.metadata))
