"""Errors of the plugin API, named as in Redpanda Connect's Python SDK."""

from __future__ import annotations


class BaseError(Exception):
    """Base of the errors a plugin raises to steer the engine."""


class NotConnectedError(BaseError):
    """Raised by ``read_batch``/``write_batch`` when the connection is gone: the engine reconnects."""

    def __init__(self, message: str = "not connected") -> None:
        super().__init__(message)


class EndOfInputError(BaseError):
    """Raised by an input's ``read_batch`` when it has no more data: the stream shuts down cleanly."""

    def __init__(self, message: str = "end of input") -> None:
        super().__init__(message)


class BackoffError(BaseError):
    """Raised by ``connect``/``read_batch`` to ask the engine to wait ``duration`` seconds."""

    def __init__(self, message: str, duration: float) -> None:
        super().__init__(message)
        self.duration = duration


class UnwritableError(BaseError):
    """Raised by ``write_batch`` when these messages can never be written as they are (a header
    value made from them that HTTP forbids, text their encoding cannot carry): the engine does
    not retry the write as if the output were down; the transaction is nacked with this error, as
    a rejected message is, so the messages behind it keep flowing."""


class ConfigError(Exception):
    """A config that cannot be built: names where it is (``file(line,col)``) when known."""


class ComponentError(Exception):
    """A component failed to construct; carries its config path."""


class UnexpectedResponseError(Exception):
    """An HTTP server answered with a status that is not a success (``pipeline.http.client``).

    The message reads as upstream's, since ``drop_on.error_patterns`` match on it:
    ``<url>: HTTP request returned unexpected response code (<code>): <status>, Error: <body>``
    (URL and body redacted). Raised from ``write_batch``, it fails the batch and the engine
    retries it with the same messages; ``code`` lets wrapping outputs decide otherwise.
    """

    def __init__(self, url: str, code: int, status: str, body_text: str) -> None:
        super().__init__(
            f"{url}: HTTP request returned unexpected response code ({code}): {status}, Error: {body_text}"
        )
        self.code = code
        self.body_text = body_text


class NoResponseError(Exception):
    """An HTTP request got no response (refused, reset, timed out, TLS failure): the message is
    Go's ``<url>: Post "<url>": <reason>`` with the URL redacted; ``url_error`` is the part after
    the first ``<url>: `` (Go's ``url.Error``). Raised from ``write_batch``, it fails the batch and
    the engine retries it with the same messages."""

    def __init__(self, message: str, url_error: str = "") -> None:
        super().__init__(message)
        self.url_error = url_error or message
