"""The ``openmeter`` output (OpenMeter's own collector component): POST each batch of CloudEvents
as one JSON array to ``<url>/api/v1/events``.

Wire format as OpenMeter's Go output sends it: ``Content-Type: application/json``, an
``Authorization: Bearer <token>`` header whenever ``token`` is set (even empty), and a body
encoded like Go's ``json.Encoder`` (sorted keys, HTML characters escaped, a trailing newline).
A status below 400 is success; otherwise the error is ``[<title>] <detail>`` for an RFC 7807
problem, else the status text. There are no retries in the output: a failed batch is nacked and
the engine (or buffer) sends the same bytes again.

Requests go through the shared client (``pipeline.http.client``); where we differ from upstream,
errors and debug lines never carry the token or URL credentials (bodies and URLs are redacted).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from mapping_lang.value import format_json_marshal
from pipeline.errors import NoResponseError
from pipeline.http.client import HTTPClient, body_excerpt, build_request
from pipeline.message import Message
from pipeline.plugin import register_output
from pipeline.redact import redact_text
from pipeline.spec import ComponentSpec, batching_field, bloblang, max_in_flight_field, string

SPEC = ComponentSpec(
    "openmeter",
    "output",
    summary="Posts events to OpenMeter's ingest endpoint.",
    description="Each batch is sent as one request whose body is a JSON array of the batch's CloudEvents.",
    fields=[
        string("url", "OpenMeter API URL.", examples=("https://openmeter.cloud", "http://127.0.0.1:8888")),
        string("token", "OpenMeter API token.", optional=True, secret=True),
        batching_field(),
        max_in_flight_field(10),
        bloblang(
            "tracing_attrs_map",
            "A Bloblang mapping yielding span attributes for each event (tracing only; upstream never runs it).",
            optional=True,
            advanced=True,
        ),
    ],
)


def events_url(base: str) -> str:
    """``<url>/api/v1/events`` as Go resolves ``./api/v1/events`` against ``url`` + ``/``."""
    parts = urlsplit(base)
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urljoin(urlunsplit((parts.scheme, parts.netloc, path, "", "")), "./api/v1/events")


def encode_events(batch: list[Message]) -> bytes:
    """The JSON array Go's ``json.Encoder`` writes: HTML-escaped, sorted keys, trailing newline."""
    events = []
    failures = []
    for index, msg in enumerate(batch):
        try:
            if not msg.has_structured() and not msg.content:
                raise ValueError("target message part does not exist")
            events.append(msg.structured())
        except ValueError as err:
            failures.append(f"message {index}: {err}")
    if failures:
        raise ValueError(f"failed to process event: {len(failures)} errors: " + "; ".join(failures))
    return format_json_marshal(events).encode() + b"\n"


def problem_text(response: httpx.Response) -> str:
    status = response.status_code
    status_text = (
        HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else f"status code {status}"
    )
    if "json" not in response.headers.get("content-type", "") or status in (412, 503):
        return status_text
    try:
        problem = response.json()
    except ValueError as err:
        return str(err)
    if not isinstance(problem, dict):
        return status_text
    return f"[{problem.get('title', '')}] {problem.get('detail', '')}"


class OpenMeterOutput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.res = res
        self.url = events_url(conf["url"])
        self.headers = {"Content-Type": "application/json", "User-Agent": "benthic"}
        if conf.get("token") is not None:
            # Go trims trailing whitespace on the wire: an empty token is sent as "Bearer"
            self.headers["Authorization"] = f"Bearer {conf['token']}".rstrip()
        self.client: HTTPClient | None = None

    async def connect(self) -> None:
        if self.client is None:
            # as upstream's default client: no timeout, redirects followed
            self.client = HTTPClient(timeout=None, follow_redirects=True)

    async def write_batch(self, batch: list[Message]) -> None:
        if not batch:
            return
        await self.connect()
        assert self.client is not None
        self.res.logger.debug(f"received message batch [size={len(batch)}]")
        body = encode_events(batch)
        exchange = await self.client.send(build_request("POST", self.url, self.headers, body))
        response = exchange.response
        if response is None:
            error = exchange.error
            raise NoResponseError(error.url_error if isinstance(error, NoResponseError) else str(error))
        if response.status_code >= 400:
            self.res.logger.debug(f"OpenMeter answered {response.status_code}: {body_excerpt(exchange.body)}")
            raise RuntimeError(redact_text(problem_text(response)))

    async def close(self) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            await client.aclose()


register_output(SPEC, lambda conf, res: OpenMeterOutput(conf, res))
