"""Every error the engine raises or understands, in one place.

The plugin API's errors are named as in Redpanda Connect's Python SDK; the HTTP errors carry Go's
wording because ``drop_on.error_patterns`` and users' alerts match on it. The tree::

    Exception
    +-- BaseError                  a component steers the engine (plugin API)
    |   +-- NotConnectedError      connection lost: the engine reconnects
    |   +-- EndOfInputError        input exhausted: the stream shuts down cleanly
    |   +-- BackoffError           wait ``duration`` seconds before trying again
    |   +-- UnwritableError        these messages can never be written: nacked, not retried
    +-- RejectedError              a rejection (strict mode, reject, reject_errored): nacked at once
    +-- ShutdownError              a transaction abandoned by a forced shutdown
    +-- RequestBuildError          an HTTP request could not be built: the batch fails unsent
    +-- UnexpectedResponseError    an HTTP status outside the successful ones: retried
    +-- NoResponseError            no HTTP response at all: retried
    +-- ConfigError                a config that cannot be built: the service exits with it
    +-- ConfigReadError            a config file that cannot be read or parsed: fatal, not a lint
    |   +-- YAMLSyntaxError        (pipeline.config.yaml_reader) the YAML parser's own words
    +-- LeaderElectionError        the Lease elector cannot start: the service exits naming why

Errors about one value stay beside the code that parses it and are turned into the ones above
with a position: ``pipeline.spec.ConfigValueError`` (a field of the wrong type) and
``pipeline.config.env.EnvError`` (a broken env file or ``${VAR}`` reference).
"""

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
    """A config that cannot be built (unknown component, bad field, unknown resource label):
    raised by the builder, it names where the problem is (``file(line,col)``) when known. The
    ``run`` command prints it and exits with status 1; streams mode refuses that stream only."""


class ConfigReadError(Exception):
    """A config file that cannot be read or parsed: raised while loading, before any lint. With a
    position it prints as a lint does, ``<file>(<line>,<col>) <message>``; the command exits 1.
    """

    def __init__(self, message: str, *, path: str | None = None, line: int = 0, column: int = 0) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.column = column
        super().__init__(f"{path}({line},{column}) {message}" if path is not None and line else message)


class RejectedError(Exception):
    """A write that can never succeed because it is refused on purpose: a message flagged as
    errored reaching an output while ``error_handling.strict`` is on, the ``reject`` output, or
    an errored message at ``reject_errored``. The engine does not retry it: the transaction is
    nacked with it, so the input redelivers or its client hears the error."""


class ShutdownError(Exception):
    """A transaction abandoned by a forced shutdown (``context canceled``, as upstream says): its
    acknowledgement carries this error so the input can redeliver on the next start."""


class LeaderElectionError(Exception):
    """The Lease elector cannot start (no usable kubeconfig or service account, the API server
    unreachable): the service stops with one line naming the cause instead of a traceback."""


class RequestBuildError(Exception):
    """An HTTP request could not be built (an interpolation failed, the URL is invalid): raised
    from ``write_batch`` before anything is sent, it fails the batch."""


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
