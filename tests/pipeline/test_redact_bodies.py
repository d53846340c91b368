"""redact_text hides the credentials a response body or an error can echo, outside URLs too."""

from __future__ import annotations

import pytest

from pipeline.redact import SECRET_MASK, redact_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"token":"t-1","ok":"x"}', f'{{"token":"{SECRET_MASK}","ok":"x"}}'),
        ('{"client_secret" : "c-2"}', f'{{"client_secret" : "{SECRET_MASK}"}}'),
        ("Authorization: Bearer abc.def-ghi", f"Authorization: Bearer {SECRET_MASK}"),
        ("Basic dXNlcjpwYXNz", f"Basic {SECRET_MASK}"),
        (
            "client_secret=s3&grant_type=client_credentials",
            f"client_secret={SECRET_MASK}&grant_type=client_credentials",
        ),
        ("old token eyJhbGciOi.eyJzdWIi.c2ln rejected", f"old token {SECRET_MASK} rejected"),
        ("GET http://u:pw@h/x?api_key=k1&a=b failed", "GET http://u:xxxxx@h/x?api_key=xxxxx&a=b failed"),
    ],
)
def test_echoed_credentials_are_masked(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "use Basic authentication",
        "failed to refresh token: POST /api/v1/token: status 500",
        '{"title":"Bad Request","status":400}',
        "page=2&limit=50",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "connecting to NATS at nats://alice:hunter2@127.0.0.1:4222: connection refused",
            "connecting to NATS at nats://alice:xxxxx@127.0.0.1:4222: connection refused",
        ),
        ("the sink is https://u:pw@sink.example/v1.", "the sink is https://u:xxxxx@sink.example/v1."),
    ],
)
def test_punctuation_after_a_url_keeps_its_host_and_port_readable(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_header_lines_of_a_dumped_request_are_masked() -> None:
    dumped = (
        "POST /v1/events HTTP/1.1\r\nHost: api.example\r\nAuthorization: Token t0k3n-value\r\n"
        "X-Api-Key: k3y\r\nCookie: session=abc\r\nContent-Type: application/json\r\n\r\n{}"
    )
    assert redact_text(dumped) == (
        "POST /v1/events HTTP/1.1\r\nHost: api.example\r\n"
        f"Authorization: Token {SECRET_MASK}\r\nX-Api-Key: {SECRET_MASK}\r\nCookie: {SECRET_MASK}\r\n"
        "Content-Type: application/json\r\n\r\n{}"
    )


def test_header_lines_inside_an_escaped_log_value_are_masked_and_the_quote_kept() -> None:
    line = 'level=debug dump="GET / HTTP/1.1\\r\\nAuthorization: s3cr3t-raw\\r\\nAccept: */*" x=1'
    masked = redact_text(line)
    assert "s3cr3t-raw" not in masked
    assert (
        masked == f'level=debug dump="GET / HTTP/1.1\\r\\nAuthorization: {SECRET_MASK}\\r\\nAccept: */*" x=1'
    )
    last = 'dump="GET / HTTP/1.1\\r\\nAuthorization: s3cr3t-raw" x=1'
    assert redact_text(last) == f'dump="GET / HTTP/1.1\\r\\nAuthorization: {SECRET_MASK}" x=1'
