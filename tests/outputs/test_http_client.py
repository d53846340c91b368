"""The http_client output against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pipeline.builder import Manager  # noqa: E402
from pipeline.errors import ConfigError  # noqa: E402
from pipeline.http.client import Throttle  # noqa: E402
from pipeline.logs import Logger, LogSink  # noqa: E402
from pipeline.message import Message  # noqa: E402
from pipeline.metadata import canonical_header  # noqa: E402
from pipeline.metrics import Metrics  # noqa: E402
from tests.e2e.sink import RecordingSink  # noqa: E402
from tests.inputs.test_http_server import serve  # noqa: E402
from tests.ports import free_port  # noqa: E402


def _bloblang_has_meta() -> bool:
    from mapping_lang.interpolation import compile_interpolation

    try:
        compile_interpolation('${! meta("a") }')
    except Exception:
        return False
    return True


# Bloblang is being built alongside; these tests start running once meta() exists.
needs_meta = pytest.mark.skipif(not _bloblang_has_meta(), reason="mapping_lang has no meta() function yet")


class Harness:
    """A manager whose logs land in a buffer, and helpers to send through a built output."""

    def __init__(self, level: str = "INFO") -> None:
        self.logs = io.StringIO()
        logger = Logger(LogSink(level=level, stream=self.logs, add_timestamp=False))
        self.metrics = Metrics(logger=logger)
        self.manager = Manager(logger=logger, metrics=self.metrics)

    def send(self, conf: dict[str, Any], *batches: list[Message]) -> list[BaseException | None]:
        async def run() -> list[BaseException | None]:
            stage = self.manager.build_output(conf, "root.output")
            await stage.connect()
            results: list[BaseException | None] = []
            for batch in batches:
                try:
                    await stage.send(batch)
                    results.append(None)
                except Exception as err:
                    results.append(err)
            await stage.drain()
            await stage.close()
            return results

        return asyncio.run(run())

    def metric(self, name: str, path: str = "root.output") -> float | None:
        return self.metrics.value(name, label="", path=path)


def client(url: str, **fields: Any) -> dict[str, Any]:
    return {"http_client": {"url": url, "retry_period": "10ms", **fields}}


def msg(body: bytes | str, **metadata: Any) -> Message:
    return Message(body.encode() if isinstance(body, str) else body, dict(metadata))


@pytest.fixture
def sink() -> Any:
    with RecordingSink() as recording:
        yield recording


@needs_meta
def test_posts_the_message_with_configured_headers_and_go_canonical_names(sink: RecordingSink) -> None:
    h = Harness()
    conf = client(sink.url, headers={"content-type": "application/json", "x-tenant": '${! meta("tenant") }'})
    assert h.send(conf, [msg('{"a":1}', tenant="acme")]) == [None]
    [request] = sink.requests
    assert request.method == "POST"
    assert request.body == b'{"a":1}'
    assert request.header("content-type") == "application/json"
    assert request.header("x-tenant") == "acme"
    assert request.header("user-agent") == "Go-http-client/1.1"


def test_a_message_without_content_type_is_sent_as_octet_stream(sink: RecordingSink) -> None:
    h = Harness()
    h.send(client(sink.url), [msg("raw")])
    assert sink.requests[0].header("content-type") == "application/octet-stream"


@needs_meta
def test_url_is_interpolated_against_the_first_message(sink: RecordingSink) -> None:
    h = Harness()
    sink.path = "/v3/openmeter/events"
    conf = client(sink.base_url + '${! meta("where") }')
    assert h.send(conf, [msg("x", where="/v3/openmeter/events")]) == [None]
    assert sink.requests[0].path == "/v3/openmeter/events"


def test_a_bare_dollar_variable_in_a_header_is_sent_literally(sink: RecordingSink) -> None:
    h = Harness()
    h.send(client(sink.url, headers={"Authorization": "Bearer $KONNECT_SYSTEM_ACCESS_TOKEN"}), [msg("x")])
    assert sink.requests[0].header("authorization") == "Bearer $KONNECT_SYSTEM_ACCESS_TOKEN"


def test_metadata_matching_the_filter_becomes_headers(sink: RecordingSink) -> None:
    h = Harness()
    conf = client(sink.url, metadata={"include_prefixes": ["ce_"], "include_patterns": ["^trace"]})
    h.send(conf, [msg("x", ce_id="42", traceparent="t-1", other="no")])
    request = sink.requests[0]
    assert request.header("ce_id") == "42"
    assert request.header("traceparent") == "t-1"
    assert request.header("other") is None


def test_a_batch_without_multipart_is_one_request_per_message_in_order(sink: RecordingSink) -> None:
    h = Harness()
    assert h.send(client(sink.url), [msg("one"), msg("two"), msg("three")]) == [None]
    assert [r.body for r in sink.requests] == [b"one", b"two", b"three"]


def test_a_batch_stops_at_the_first_failed_message(sink: RecordingSink) -> None:
    h = Harness()
    sink.status = 202
    sink.fail_next(1, status=202)  # first succeeds
    sink.fail_next(1, status=400)  # second is dropped by drop_on: no retry
    [err] = h.send(client(sink.url, drop_on=[400]), [msg("one"), msg("two"), msg("three")])
    assert err is not None
    assert [r.body for r in sink.requests] == [b"one", b"two"]


def test_a_batch_as_multipart_is_one_form_data_request(sink: RecordingSink) -> None:
    h = Harness()
    h.send(
        client(sink.url, batch_as_multipart=True, headers={"Content-Type": "application/json"}),
        [msg("{}"), msg("[]")],
    )
    [request] = sink.requests
    content_type = request.header("content-type") or ""
    assert content_type.startswith("multipart/form-data; boundary=")
    boundary = content_type.split("boundary=")[1]
    assert (
        request.body
        == (
            f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{{}}\r\n"
            f"--{boundary}\r\nContent-Type: application/json\r\n\r\n[]\r\n--{boundary}--\r\n"
        ).encode()
    )


@needs_meta
def test_explicit_multipart_parts_are_interpolated(sink: RecordingSink) -> None:
    h = Harness()
    parts = [
        {
            "content_type": "text/plain",
            "content_disposition": 'form-data; name="a"',
            "body": '${! meta("v") }',
        }
    ]
    h.send(client(sink.url, multipart=parts), [msg("ignored", v="hello")])
    body = sink.requests[0].body
    assert b'Content-Disposition: form-data; name="a"\r\nContent-Type: text/plain\r\n\r\nhello\r\n' in body


def test_a_status_error_reads_as_upstream(sink: RecordingSink) -> None:
    h = Harness()
    sink.fail_next(1, status=400, body=b'{"title":"Bad Request",\n"status":400}\n')
    [err] = h.send(client(sink.url, drop_on=[400]), [msg("x")])
    assert str(err) == (
        f'{sink.url}: HTTP request returned unexpected response code (400): 400 Bad Request, Error: {{"title":"Bad Request","status":400}}'
    )
    assert len(sink.requests) == 1  # drop_on: no retries
    assert f"Failed to send message to http_client: {sink.url}: HTTP request returned" in h.logs.getvalue()


def test_a_server_error_is_retried_and_then_succeeds(sink: RecordingSink) -> None:
    h = Harness()
    sink.fail_next(2, status=503)
    assert h.send(client(sink.url, retries=3), [msg("x")]) == [None]
    assert [r.status for r in sink.requests] == [503, 503, 202]
    assert [r.body for r in sink.requests] == [b"x", b"x", b"x"]
    assert h.metric("http_request_code_5xx") == 2
    assert h.metric("http_request_code_2xx") == 1
    assert h.metric("http_request_latency_ns") == 3


def test_retries_give_up_after_retries_plus_one_attempts(sink: RecordingSink) -> None:
    h = Harness()
    sink.fail_next(10, status=500)
    [err] = h.send(client(sink.url, retries=2), [msg("x")])
    assert "unexpected response code (500): 500 Internal Server Error" in str(err)
    assert len(sink.requests) == 3


def test_successful_on_accepts_a_non_2xx_code(sink: RecordingSink) -> None:
    h = Harness()
    sink.fail_next(1, status=409)
    assert h.send(client(sink.url, successful_on=[409]), [msg("x")]) == [None]
    assert len(sink.requests) == 1


def test_connection_refused_reads_as_go(sink: RecordingSink) -> None:
    h = Harness()
    port = free_port()
    url = f"http://127.0.0.1:{port}/v3/openmeter/events"
    [err] = h.send(client(url, retries=1), [msg("x")])
    assert str(err) == f'{url}: Post "{url}": dial tcp 127.0.0.1:{port}: connect: connection refused'


def test_a_slow_server_beyond_timeout_is_a_deadline_error(sink: RecordingSink) -> None:
    h = Harness()
    sink.slow_next(1, delay=2.0)
    [err] = h.send(client(sink.url, timeout="200ms", retries=0), [msg("x")])
    assert (
        str(err)
        == f'{sink.url}: Post "{sink.url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
    )


def test_basic_auth_is_sent(sink: RecordingSink) -> None:
    h = Harness()
    h.send(client(sink.url, basic_auth={"enabled": True, "username": "u", "password": "p"}), [msg("x")])
    assert sink.requests[0].header("authorization") == "Basic dTpw"


def test_request_dump_redacts_the_authorization_header(sink: RecordingSink) -> None:
    h = Harness(level="DEBUG")
    conf = client(sink.url, headers={"Authorization": "Bearer very-secret"}, dump_request_log_level="DEBUG")
    h.send(conf, [msg('{"a":1}')])
    logs = h.logs.getvalue()
    assert "http request log" in logs
    assert "very-secret" not in logs
    assert "Authorization:!!!SECRET_SCRUBBED!!!" in logs


def test_request_dump_is_off_below_the_logger_level(sink: RecordingSink) -> None:
    h = Harness(level="INFO")
    h.send(client(sink.url, dump_request_log_level="DEBUG"), [msg("x")])
    assert "http request log" not in h.logs.getvalue()


def test_oauth2_client_credentials_token_is_fetched_and_used(sink: RecordingSink) -> None:
    with RecordingSink(path="/token", status=200) as token_server:
        original = token_server._handle

        async def answer_token(request: Any) -> Any:
            from pipeline.http.server import Response

            await original(request)
            return Response.json(b'{"access_token":"tok-1","token_type":"bearer","expires_in":3600}')

        token_server._server.route("/token", answer_token)  # type: ignore[union-attr]
        h = Harness()
        oauth2 = {
            "enabled": True,
            "client_key": "id",
            "client_secret": "sec",
            "token_url": token_server.url,
            "scopes": ["a", "b"],
        }
        assert h.send(client(sink.url, oauth2=oauth2), [msg("x")], [msg("y")]) == [None, None]
        assert len(token_server.requests) == 1
        assert b"grant_type=client_credentials" in token_server.requests[0].body
        assert b"scope=a+b" in token_server.requests[0].body
        assert [r.header("authorization") for r in sink.requests] == ["Bearer tok-1", "Bearer tok-1"]


def test_oauth_v1_and_jwt_are_rejected_with_a_clear_message() -> None:
    h = Harness()
    with pytest.raises(ConfigError, match="OAuth v1 request signing is not supported"):
        h.manager.build_output(client("http://127.0.0.1:1/", oauth={"enabled": True}), "root.output")
    with pytest.raises(ConfigError, match="JWT request signing is not supported"):
        h.manager.build_output(client("http://127.0.0.1:1/", jwt={"enabled": True}), "root.output")


def test_a_client_cert_with_key_file_but_no_cert_file_fails_with_a_clear_message() -> None:
    h = Harness()
    tls = {"enabled": True, "client_certs": [{"key_file": "/nonexistent/client.key"}]}
    with pytest.raises(ConfigError, match="client_certs.0: key_file is set but cert_file is not"):
        h.manager.build_output(client("http://127.0.0.1:1/", tls=tls), "root.output")


def test_an_unknown_rate_limit_resource_fails_construction() -> None:
    h = Harness()
    with pytest.raises(ConfigError, match="rate_limit resource 'nope' was not found"):
        h.manager.build_output(client("http://127.0.0.1:1/", rate_limit="nope"), "root.output")


def test_propagate_response_hands_the_reply_back_through_the_message_context(sink: RecordingSink) -> None:
    h = Harness()
    message = msg("x")
    message.context = {}
    h.send(client(sink.url, propagate_response=True), [message])
    [reply] = message.context["responses"]
    assert reply.metadata["http_status_code"] == 202


def test_follow_redirects_off_counts_a_redirect_as_success(sink: RecordingSink) -> None:
    h = Harness()
    sink.fail_next(1, status=302, headers=[("Location", "/elsewhere")])
    assert h.send(client(sink.url, follow_redirects=False), [msg("x")]) == [None]
    assert len(sink.requests) == 1


# -- the shared throttle ------------------------------------------------------------------------------


def test_throttle_doubles_from_the_second_consecutive_backoff_and_caps() -> None:
    waits: list[float] = []

    async def run() -> None:
        throttle = Throttle(15.0, 60.0)
        real_sleep = asyncio.sleep

        async def record(seconds: float) -> None:
            waits.append(seconds)
            await real_sleep(0)

        asyncio.sleep = record  # type: ignore[assignment]
        try:
            await throttle.exponential_retry()
            await throttle.exponential_retry()
            await throttle.exponential_retry()
            await throttle.exponential_retry()
            await throttle.retry()  # a linear retry keeps the grown period
            throttle.reset()
            await throttle.retry()
        finally:
            asyncio.sleep = real_sleep  # type: ignore[assignment]

    asyncio.run(run())
    assert waits == [15.0, 30.0, 60.0, 60.0, 60.0, 15.0]


def test_canonical_header_names_follow_go() -> None:
    assert canonical_header("content-type") == "Content-Type"
    assert canonical_header("ce-id") == "Ce-Id"
    assert canonical_header("X_Weird") == "X_weird"


def test_tls_renegotiation_is_refused_at_its_line(tmp_path: Path) -> None:
    h = Harness()
    tls = {"enabled": True, "enable_renegotiation": True}
    with pytest.raises(ConfigError, match="tls.enable_renegotiation: TLS renegotiation is not supported"):
        h.manager.build_output(client("http://127.0.0.1:1/", tls=tls), "root.output")
    from tests.pipeline.conftest import run_cli

    config = tmp_path / "tls.yaml"
    config.write_text(
        "output:\n  http_client:\n    url: http://127.0.0.1:1/\n    tls:\n      enabled: true\n"
        "      enable_renegotiation: true\n"
    )
    result = run_cli("lint", str(config))
    assert result.returncode == 1
    assert f"{config}(6," in result.stderr and "TLS renegotiation is not supported" in result.stderr


def test_propagate_response_answers_the_http_server_request_with_the_sinks_reply(sink: RecordingSink) -> None:
    sink.fail_next(1, status=200, body=b"answer from the sink")

    async def scenario(http: Any, url: str) -> None:
        response = await http.post(url, content=b"question")
        assert response.status_code == 200
        assert response.content == b"answer from the sink"

    serve({}, output=client(sink.url, propagate_response=True))(scenario)
    assert [r.body for r in sink.requests] == [b"question"]


def with_user_info(url: str, user: str = "alice", password: str = "url-password-7") -> str:
    return url.replace("http://", f"http://{user}:{password}@", 1)


def test_user_info_in_the_url_is_sent_as_basic_auth(sink: RecordingSink) -> None:
    h = Harness()
    assert h.send(client(with_user_info(sink.url)), [msg("x")]) == [None]
    assert sink.requests[0].header("authorization") == "Basic YWxpY2U6dXJsLXBhc3N3b3JkLTc="


def test_basic_auth_wins_over_user_info_in_the_url_as_go_sends_it(sink: RecordingSink) -> None:
    h = Harness()
    conf = client(with_user_info(sink.url), basic_auth={"enabled": True, "username": "u", "password": "p"})
    assert h.send(conf, [msg("x")]) == [None]
    assert sink.requests[0].header("authorization") == "Basic dTpw"


def test_an_authorization_header_wins_over_user_info_in_the_url(sink: RecordingSink) -> None:
    h = Harness()
    conf = client(with_user_info(sink.url), headers={"Authorization": "Bearer configured"})
    assert h.send(conf, [msg("x")]) == [None]
    assert sink.requests[0].header("authorization") == "Bearer configured"


def test_errors_logs_and_dumps_never_show_url_credentials_or_secrets_echoed_in_bodies(
    sink: RecordingSink,
) -> None:
    h = Harness(level="TRACE")
    url = with_user_info(sink.url) + "?api_key=query-secret-3&page=1"
    echo = b'{"error":"rejected","token":"echoed-token-9","seen":"Bearer header-secret-5"}'
    sink.fail_next(2, status=500, body=echo)
    conf = client(
        url,
        retries=1,
        headers={"X-Api-Key": "header-secret-5", "Authorization": "Bearer header-secret-5"},
        dump_request_log_level="DEBUG",
    )
    [err] = h.send(conf, [msg('{"password":"body-secret-1"}')])
    seen = str(err) + h.logs.getvalue()
    assert "unexpected response code (500)" in str(err)
    assert "http request log" in seen and "Failed to send message to http_client" in seen
    for secret in ("url-password-7", "query-secret-3", "echoed-token-9", "header-secret-5", "body-secret-1"):
        assert secret not in seen
    assert "alice:xxxxx@" in str(err)  # what was asked stays readable
    assert len(sink.requests) == 2


def test_a_refused_connection_error_hides_url_credentials() -> None:
    h = Harness()
    url = with_user_info(f"http://127.0.0.1:{free_port()}/events") + "?token=query-secret-3"
    [err] = h.send(client(url, retries=0), [msg("x")])
    assert "connection refused" in str(err)
    assert "url-password-7" not in str(err) and "query-secret-3" not in str(err)
    assert "url-password-7" not in h.logs.getvalue()
