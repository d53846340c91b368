"""Every error the engine raises or understands, in one place.

The plugin API's errors are named as in Redpanda Connect's Python SDK; the HTTP errors carry Go's
wording because ``drop_on.error_patterns`` and users' alerts match on it. The tree::

    Exception
    +-- BaseError                  a component steers the engine (plugin API)
    |   +-- NotConnectedError      connection lost: the engine reconnects
    |   +-- EndOfInputError        input exhausted: the stream shuts down cleanly
    |   +-- BackoffError           wait ``duration`` seconds before trying again
    |   +-- UnwritableError        these messages can never be written: nacked, not retried
    |   +-- BatchError             some messages of a written batch failed, the rest were delivered
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

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.message import Message


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


class BatchError(BaseError):
    """Raised by ``write_batch`` when only some messages of ``batch`` (the batch as it was passed
    in) failed: ``failed(index, err)`` names each one, and the others count as delivered.
    Upstream's outputs report a partly written batch the same way (``service.BatchError``).

    The engine retries only the failed messages, ``fallback`` passes only those to its next
    output, ``switch`` and ``reject_errored`` report their children's failures in the same terms,
    and an input that replays nacks replays only those. When no message is named, the whole batch
    failed with the error given here. Its text is that error's."""

    error: BaseException

    def __init__(self, batch: list[Message], err: BaseException) -> None:
        if isinstance(err, BatchError):
            err = err.error
        super().__init__(str(err))
        self.batch = batch
        self.error = err
        self.errors: dict[int, BaseException] = {}

    def failed(self, index: int, err: BaseException) -> BatchError:
        """Mark ``batch[index]`` as failed with ``err`` (an index outside the batch is ignored)."""
        if 0 <= index < len(self.batch):
            self.errors[index] = err
        return self

    def failed_from(self, index: int, err: BaseException) -> BatchError:
        """Mark ``batch[index]`` and every message after it as failed with ``err``: a batch written
        in order stopped there, and those after it were never tried."""
        for rest in range(index, len(self.batch)):
            self.failed(rest, err)
        return self

    def failures(self) -> list[tuple[int, BaseException]]:
        """Each failed message's index in ``batch`` with its error, in batch order."""
        if not self.errors:
            return [(index, self.error) for index in range(len(self.batch))]
        return sorted(self.errors.items(), key=lambda item: item[0])

    def indexes_in(self, batch: list[Message]) -> dict[int, BaseException] | None:
        """The failed messages of ``batch``, by index, with their errors: ``batch`` may be the
        batch written or one that holds the messages the written ones were made from (a
        transaction before an output's processors, or a parent output's batch before copies were
        made for a child). A written message is traced through its ``origin``; None when a failed
        message cannot be traced (a processor made it anew), so the whole of ``batch`` failed."""
        position = {id(msg): index for index, msg in enumerate(batch)}
        by_origin: dict[int, list[int]] = {}
        for index, msg in enumerate(batch):
            if msg.origin is not None:
                by_origin.setdefault(msg.origin, []).append(index)
        found: dict[int, BaseException] = {}
        for index, err in self.failures():
            written = self.batch[index]
            exact = position.get(id(written))
            if exact is not None and batch[exact] is written:
                found.setdefault(exact, err)
                continue
            if written.origin is None:
                return None
            for mine in by_origin.get(written.origin, ()):
                found.setdefault(mine, err)
        return dict(sorted(found.items()))


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
