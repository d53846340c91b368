"""What every NATS component shares: the connection fields, authentication, and the link between
message metadata and NATS headers.

Upstream (``internal/impl/nats/connection.go``, ``auth.go``) puts ``urls`` and ``max_reconnects``
at the head of each NATS component's fields and ``tls``, ``tls_handshake_first`` and ``auth`` at
its tail; exactly one authentication method may be configured; the connection is named after the
component's label. We do the same with ``nats-py`` (the ``benthic[nats]`` extra), which is
imported only when a connection is made. Where we differ: a connection error names the servers
with their passwords and tokens masked (``pipeline/redact.py``), and ``max_reconnects`` left
unset means nats.go's own default of 60 attempts, two seconds apart.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from pipeline import spec as s
from pipeline.http.tls import tls_context, tls_problems
from pipeline.message import Message
from pipeline.metadata import MetadataFilter
from pipeline.redact import redact_text

REQUIRES = ("nats", "nats")  # (module, extra): lint names the pip command when it is missing

AUTH_DESCRIPTION = (
    "Authentication (the auth block) accepts one method: an NKey seed (nkey_file or nkey), a user "
    "credentials file holding a JWT and its seed (user_credentials_file), a JWT and seed given as text "
    "(user_jwt with user_nkey_seed), a token, or a user name with its password."
)

CONNECTION_NAME_DESCRIPTION = (
    "The connection is named after the component's label, so that NATS monitoring shows which "
    "component a connection belongs to."
)

# nats.go's DefaultMaxReconnect and ReconnectWait
DEFAULT_MAX_RECONNECTS = 60
RECONNECT_WAIT = 2.0
# how long a first connection may take before the engine is told it failed
FIRST_CONNECT_TIMEOUT = 5.0


def head_fields() -> list[s.Field]:
    return [
        s.string_list(
            "urls",
            "The servers to connect to; an item holding commas stands for several URLs.",
            examples=(["nats://127.0.0.1:4222"], ["nats://username:password@127.0.0.1:4222"]),
        ),
        s.integer(
            "max_reconnects",
            "How many times to try reconnecting after the connection is lost; negative means forever.",
            optional=True,
            advanced=True,
        ),
    ]


def auth_field() -> s.Field:
    return s.obj(
        "auth",
        [
            s.string("nkey_file", "A file holding an NKey seed.", optional=True, examples=("./seed.nk",)),
            s.string("nkey", "An NKey seed given as text.", optional=True, secret=True),
            s.string(
                "user_credentials_file",
                "A credentials file holding a user JWT and its NKey seed (as nsc writes them).",
                optional=True,
                examples=("./user.creds",),
            ),
            s.string(
                "user_jwt", "A user JWT given as text, used with user_nkey_seed.", optional=True, secret=True
            ),
            s.string(
                "user_nkey_seed",
                "The user's NKey seed given as text, used with user_jwt.",
                optional=True,
                secret=True,
            ),
            s.string("user", "A user name, used with password.", optional=True),
            s.string("password", "The password of user.", optional=True, secret=True),
            s.string("token", "A token for token authentication.", optional=True, secret=True),
        ],
        "How to authenticate with the NATS servers (optional).",
        advanced=True,
    )


def tail_fields() -> list[s.Field]:
    return [
        s.tls_fields("tls"),
        s.boolean(
            "tls_handshake_first",
            "Start TLS before the server sends its INFO message (servers configured for it only).",
            default=False,
            advanced=True,
        ),
        auth_field(),
    ]


def auth_problems(auth: dict[str, Any]) -> list[str]:
    """Upstream's rules for the auth block, as lint messages."""
    problems = []
    has = {k: auth.get(k) is not None for k in auth}
    if has.get("user_jwt") != has.get("user_nkey_seed"):
        missing = "user_nkey_seed" if has.get("user_jwt") else "user_jwt"
        problems.append(f"auth.{missing}: missing auth.{missing} config field")
    if has.get("user") != has.get("password"):
        missing = "password" if has.get("user") else "user"
        problems.append(f"auth.{missing}: missing auth.{missing} config field")
    elif has.get("user") and not auth.get("user") and not auth.get("password"):
        problems.append("auth: auth.user and auth.password are both empty")
    methods = [
        name
        for name, present in (
            ("nkey_file", auth.get("nkey_file")),
            ("nkey", auth.get("nkey")),
            ("user_credentials_file", auth.get("user_credentials_file")),
            ("user_jwt+user_nkey_seed", auth.get("user_jwt")),
            ("token", auth.get("token")),
            ("user+password", auth.get("user") or auth.get("password")),
        )
        if present
    ]
    if len(methods) > 1:
        problems.append(
            f"auth: multiple auth methods configured ({', '.join(methods)}); only one is permitted"
        )
    return problems


def connection_problems(conf: dict[str, Any]) -> list[str]:
    problems = auth_problems(conf["auth"]) + tls_problems(conf["tls"])
    if not server_urls(conf):
        problems.append("urls: at least one NATS server URL is required")
    return problems


def server_urls(conf: dict[str, Any]) -> list[str]:
    return [u.strip() for item in conf["urls"] for u in item.split(",") if u.strip()]


def describe_servers(conf: dict[str, Any]) -> str:
    """The server list as logs and errors show it (credentials masked)."""
    return redact_text(", ".join(server_urls(conf)))


class NATSConnectError(Exception):
    """Connecting failed; the message names the servers with their secrets masked."""


async def connect(conf: dict[str, Any], res: Any, **callbacks: Any) -> Any:
    """A connected ``nats.aio.client.Client`` for a component's config."""
    import nats  # optional dependency: the benthic[nats] extra

    auth = conf["auth"]
    options: dict[str, Any] = {
        "servers": server_urls(conf),
        "name": res.label or res.path,
        "reconnect_time_wait": RECONNECT_WAIT,
        "max_reconnect_attempts": (
            DEFAULT_MAX_RECONNECTS if conf["max_reconnects"] is None else conf["max_reconnects"]
        ),
        "connect_timeout": 2,
        "allow_reconnect": True,
        "tls_handshake_first": conf["tls_handshake_first"],
    }
    ctx = tls_context(conf["tls"])
    if ctx is not None:
        options["tls"] = ctx
    if auth.get("nkey_file"):
        options["nkeys_seed"] = os.path.expanduser(os.path.expandvars(auth["nkey_file"]))
    elif auth.get("nkey"):
        options["nkeys_seed_str"] = auth["nkey"]
    elif auth.get("user_credentials_file"):
        options["user_credentials"] = os.path.expanduser(os.path.expandvars(auth["user_credentials_file"]))
    elif auth.get("user_jwt"):
        options["user_credentials"] = _raw_credentials(auth["user_jwt"], auth["user_nkey_seed"])
    elif auth.get("token"):
        options["token"] = auth["token"]
    elif auth.get("user") or auth.get("password"):
        options["user"] = auth.get("user") or ""
        options["password"] = auth.get("password") or ""
    logger = res.logger
    client = nats.NATS()
    last_error: list[str] = []

    async def on_error(err: Exception) -> None:
        reason = redact_text(str(err) or type(err).__name__)
        if client.is_connected or client.is_reconnecting:
            logger.warn(f"NATS connection error: {reason}")
        else:
            last_error.append(reason)

    async def on_disconnect() -> None:
        if not client.is_closed:
            logger.warn("NATS connection lost; reconnecting")

    async def on_reconnect() -> None:
        logger.info("NATS connection re-established")

    options.update(error_cb=on_error, disconnected_cb=on_disconnect, reconnected_cb=on_reconnect, **callbacks)
    try:
        # nats-py retries a first connection as it retries a lost one; the engine's own connect
        # loop (with backoff, and stopped by shutdown) is the one that should retry here
        await asyncio.wait_for(client.connect(**options), timeout=FIRST_CONNECT_TIMEOUT)
    except BaseException as err:
        try:
            await asyncio.wait_for(client.close(), timeout=2)
        except BaseException:  # noqa: BLE001 - closing a client that never connected
            pass
        if isinstance(err, asyncio.CancelledError):
            raise
        reason = last_error[-1] if last_error else redact_text(str(err) or type(err).__name__)
        if isinstance(err, TimeoutError) and not last_error:
            reason = "timed out"
        if "authoriz" in reason.lower() or "authentica" in reason.lower():
            reason = f"authorization failed: {reason}"
        raise NATSConnectError(f"connecting to NATS at {describe_servers(conf)}: {reason}") from None
    return client


def _raw_credentials(jwt: str, seed: str) -> Any:
    from nats.aio.client import RawCredentials  # optional dependency: the benthic[nats] extra

    text = (
        "-----BEGIN NATS USER JWT-----\n"
        f"{jwt}\n"
        "------END NATS USER JWT------\n\n"
        "-----BEGIN USER NKEY SEED-----\n"
        f"{seed}\n"
        "------END USER NKEY SEED------\n"
    )
    return RawCredentials(text)


# -- metadata and headers --------------------------------------------------------------------------


def headers_for(
    msg: Message,
    batch: list[Message],
    index: int,
    headers: dict[str, Any],
    metadata: MetadataFilter | None,
) -> dict[str, str] | None:
    """The NATS headers of one message: the interpolated ``headers`` map, then the metadata the
    filter selects (as upstream, a metadata key does not replace an explicit header of the same
    name: both are added, and a client reading one value sees the explicit one)."""
    out: dict[str, str] = {}
    for key, template in headers.items():
        out[key] = str(template.render(msg, batch, index))
    if metadata is not None and metadata.is_set:
        for key in sorted(msg.metadata):
            if key not in out and metadata.matches(key):
                out[key] = msg.meta_str(key) or ""
    return out or None


def header_metadata(headers: dict[str, str] | None) -> dict[str, Any]:
    """Message headers as metadata (empty values left out, as upstream's ``Header.Get`` loop)."""
    return {k: v for k, v in (headers or {}).items() if v != ""}
