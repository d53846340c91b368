"""What every Redis component shares: the client fields and the client itself.

Upstream (``internal/impl/redis/client.go``) gives each Redis component ``url`` (several
comma-separated for a cluster or the sentinels of a failover set; the database is the URL's path,
the password its user-info; ``tcp://`` means ``redis://``, ``rediss://`` means TLS), ``kind``
(``simple``, ``cluster``, ``failover``), ``master`` (the failover set's name), ``client_name`` and
a ``tls`` block. We build the same with redis-py's asyncio client (the ``benthic[redis]`` extra),
imported only when a client is made. Where we differ: errors and logs name the URL with its
password masked (``pipeline/redact.py``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from pipeline import spec as s
from pipeline.errors import BatchError
from pipeline.http.tls import tls_problems
from pipeline.redact import redact_text, redact_url

REQUIRES = ("redis", "redis")  # (module, extra): lint names the pip command when it is missing


def client_fields() -> list[s.Field]:
    tls = s.tls_fields("tls")
    tls.description = (
        "Custom TLS settings. A rediss:// URL turns TLS on by itself; these settings add root "
        "certificates, client certificates or skip verification."
    )
    return [
        s.string(
            "url",
            "The Redis server's URL; the database is the URL's path (0 when absent).",
            examples=(
                "redis://:6379",
                "redis://localhost:6379",
                "redis://foousername:foopassword@redisplace:6379",
                "redis://:foopassword@redisplace:6379",
                "redis://localhost:6379/1",
                "redis://localhost:6379/1,redis://localhost:6380/1",
            ),
        ),
        s.enum(
            "kind",
            ("simple", "cluster", "failover"),
            "A single server (simple), a Redis Cluster (cluster) or a Sentinel-managed set (failover).",
            default="simple",
            advanced=True,
        ),
        s.string(
            "master",
            "The name of the Redis master when kind is failover.",
            default="",
            advanced=True,
            examples=("mymaster",),
        ),
        s.string(
            "client_name",
            "The name this client gives itself on each connection.",
            default="redpanda-connect",
            advanced=True,
        ),
        tls,
    ]


class Address:
    def __init__(self, host: str, port: int, db: int, username: str | None, password: str | None, tls: bool):
        self.host, self.port, self.db = host, port, db
        self.username, self.password, self.tls = username, password, tls


def parse_urls(url: str) -> list[Address]:
    """The addresses of a ``url`` field; raises ``ValueError`` naming the (redacted) bad URL."""
    out = []
    for item in url.split(","):
        item = item.strip()
        try:
            parts = urlsplit(item)
            port = parts.port or 6379
        except ValueError as err:
            raise ValueError(f"invalid Redis URL {redact_url(item)}: {err}") from None
        scheme = "redis" if parts.scheme == "tcp" else parts.scheme
        if scheme not in ("redis", "rediss"):
            raise ValueError(
                f"invalid Redis URL {redact_url(item)}: scheme must be redis, rediss or tcp, got {parts.scheme!r}"
            )
        path = parts.path.strip("/")
        if path and not path.isdigit():
            raise ValueError(f"invalid Redis URL {redact_url(item)}: invalid database number {path!r}")
        out.append(
            Address(
                parts.hostname or "localhost",
                port,
                int(path or 0),
                unquote(parts.username) if parts.username else None,
                unquote(parts.password) if parts.password is not None else None,
                scheme == "rediss",
            )
        )
    return out


def client_problems(conf: dict[str, Any]) -> list[str]:
    problems = tls_problems(conf["tls"])
    if not conf["url"]:
        problems.append("url: a Redis URL is required")
        return problems
    try:
        parse_urls(conf["url"])
    except ValueError as err:
        problems.append(f"url: {err}")
    if conf["kind"] == "failover" and not conf["master"]:
        problems.append("master: the master's name is required when kind is failover")
    return problems


def describe(conf: dict[str, Any]) -> str:
    return redact_text(conf["url"])


def error_text(err: BaseException, address: str = "") -> str:
    """What went wrong; a refused connection in go-redis's words, the same whichever redis-py
    version is installed (5 says "Connect call failed", 8 "Connection refused")."""
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return f"dial tcp {address}: connect: connection refused" if address else "connection refused"
        cause = cause.__cause__ or cause.__context__
    return redact_text(str(err) or type(err).__name__)


def raise_failed_commands(batch: list[Any], results: list[Any]) -> None:
    """After a pipeline of one command per message ran without raising: the commands Redis
    refused (``WRONGTYPE`` and the like) fail their messages, as upstream reports them, so that
    only those are written again."""
    problem: BatchError | None = None
    for index, result in enumerate(results):
        if isinstance(result, Exception):
            err = RuntimeError(error_text(result))
            problem = (problem or BatchError(batch, err)).failed(index, err)
    if problem is not None:
        raise problem


def _ssl_options(conf: dict[str, Any], address: Address) -> dict[str, Any]:
    tls = conf["tls"]
    if not (address.tls or tls["enabled"]):
        return {}
    options: dict[str, Any] = {"ssl": True}
    if tls["enabled"]:
        if tls["root_cas_file"]:
            options["ssl_ca_certs"] = tls["root_cas_file"]
        if tls["root_cas"]:
            options["ssl_ca_data"] = tls["root_cas"]
        if tls["skip_cert_verify"]:
            options["ssl_cert_reqs"] = "none"
            options["ssl_check_hostname"] = False
        for cert in tls["client_certs"][:1]:
            if cert["cert_file"]:
                options["ssl_certfile"] = cert["cert_file"]
                options["ssl_keyfile"] = cert["key_file"] or None
                options["ssl_password"] = cert["password"] or None
    return options


def make_client(conf: dict[str, Any], **extra: Any) -> Any:
    """A redis-py asyncio client (not yet connected: the first command connects)."""
    import redis.asyncio as aioredis  # optional dependency: the benthic[redis] extra

    addresses = parse_urls(conf["url"])
    first = addresses[0]
    common: dict[str, Any] = {
        "username": first.username,
        "password": first.password,
        "client_name": conf["client_name"] or None,
        "socket_connect_timeout": 5,
        **_ssl_options(conf, first),
        **extra,
    }
    if conf["kind"] == "cluster":
        from redis.asyncio.cluster import ClusterNode, RedisCluster  # optional dependency: benthic[redis]

        return RedisCluster(startup_nodes=[ClusterNode(a.host, a.port) for a in addresses], **common)
    if conf["kind"] == "failover":
        from redis.asyncio.sentinel import Sentinel  # optional dependency: benthic[redis]

        sentinel = Sentinel([(a.host, a.port) for a in addresses], sentinel_kwargs=dict(common))
        return sentinel.master_for(conf["master"], db=first.db, **common)
    return aioredis.Redis(host=first.host, port=first.port, db=first.db, **common)


async def connect(conf: dict[str, Any], component: str) -> Any:
    """A client that has answered PING, or a RuntimeError naming the component and the (redacted)
    address; the half-made client is closed on failure."""
    client = make_client(conf)
    try:
        await client.ping()
    except Exception as err:
        await client.aclose()
        first = parse_urls(conf["url"])[0]
        reason = error_text(err, f"{first.host}:{first.port}")
        raise RuntimeError(f"{component} at {describe(conf)}: {reason}") from None
    return client
