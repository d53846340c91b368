"""What the ``websocket`` input and output share: their connection fields and the dial.

Upstream dials with gorilla/websocket: ``url``, an optional HTTP ``proxy_url``, ``tls`` and the
HTTP client's auth blocks (``oauth``, ``basic_auth``, ``jwt``) signing the upgrade request.
benthic dials with the ``websockets`` package's asyncio client (the ``websockets`` extra).

Where we differ: OAuth v1 and JWT signing are refused at lint, as for every benthic HTTP client.
"""

from __future__ import annotations

import base64
from typing import Any

from pipeline.http.requester import client_fields, client_lint
from pipeline.http.tls import tls_context, tls_problems
from pipeline.spec import Field, string, tls_fields

REQUIRES = ("websockets", "websockets")


def url_field(examples: tuple[str, ...] = ()) -> Field:
    return string("url", "The server's `ws://` or `wss://` address.", examples=examples)


def proxy_field() -> Field:
    return string("proxy_url", "Reach the server through this HTTP proxy.", optional=True, advanced=True)


def tls_field() -> Field:
    return tls_fields()


def auth_fields() -> list[Field]:
    """The HTTP client's ``oauth``, ``basic_auth`` and ``jwt`` blocks, as upstream's websocket has."""
    by_name = {f.name: f for f in client_fields()}
    return [by_name["oauth"], by_name["basic_auth"], by_name["jwt"]]


def lint(conf: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    auth = {"oauth": conf["oauth"], "jwt": conf["jwt"], "tls": {"enabled": False}}
    problems.extend(client_lint(auth))
    problems.extend(tls_problems(conf["tls"]))
    return problems


async def dial(conf: dict[str, Any], *, max_size: int | None = None) -> Any:
    """Open a websocket client connection as the component's ``conf`` says."""
    from websockets.asyncio.client import connect  # optional dependency: the "websockets" extra

    headers = {}
    auth = conf["basic_auth"]
    if auth["enabled"]:
        token = base64.b64encode(f"{auth['username']}:{auth['password']}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    url = conf["url"]
    ctx = tls_context(conf["tls"]) if url.startswith("wss:") else None
    proxy: Any = conf.get("proxy_url") or None
    try:
        return await connect(
            url,
            additional_headers=headers,
            ssl=ctx,
            proxy=proxy,
            max_size=max_size,
            compression=None,
            user_agent_header=None,
            open_timeout=30,
        )
    except OSError:
        raise
    except Exception as err:
        raise ConnectionError(str(err)) from None
