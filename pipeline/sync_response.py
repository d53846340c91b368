"""The result store that carries synchronous responses from the output side back to an input.

Upstream keeps a result store in each message's context: an input that can answer its caller
(``http_server``) attaches one to every message of a request, and the ``sync_response``
processor and output (and ``http_client`` with ``propagate_response``) add batches to it; the
input answers from what was stored once the transaction is acknowledged. The store lives here, in
the runtime, so that those components share it without importing each other.
"""

from __future__ import annotations

from pipeline.logs import Logger
from pipeline.message import Message

RESULT_STORE = "sync_response"
"""The key of the result store in ``Message.context``."""

ResultStore = list[list[Message]]
"""Every batch stored for one request, in the order they were stored."""


def result_store(batch: list[Message]) -> ResultStore | None:
    """The store of the batch's first message, or None when its input attached none."""
    context = batch[0].context if batch else None
    store = context.get(RESULT_STORE) if context else None
    return store if isinstance(store, list) else None


def store_sync_response(batch: list[Message], logger: Logger | None = None) -> bool:
    """Append a copy of ``batch`` (content and metadata, no context) as one entry to the result
    store of its first message; False when there is none."""
    store = result_store(batch)
    if store is None:
        if logger is not None and batch:
            logger.debug(
                "Failed to store message as a sync response: result store not found within batch context"
            )
        return False
    store.append([Message(msg.content, dict(msg.metadata)) for msg in batch])
    return True
