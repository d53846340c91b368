"""The service HTTP server's ``basic_auth`` and ``cors`` blocks, as upstream applies them to every
endpoint of the server (``/ping``, ``/metrics``, and ``http_server`` inputs that share it)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import sys
import traceback
from typing import Any

import orjson
import yaml

from pipeline.http.server import Handler, HTTPServer, Request, Response

# upstream's scrypt parameters
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_KEY_LEN = 32768, 8, 1, 32


def basic_auth_problems(conf: dict[str, Any]) -> list[str]:
    if not conf.get("enabled"):
        return []
    problems = []
    if not conf.get("username") or not conf.get("password_hash"):
        problems.append("http.basic_auth: both username and password_hash are required")
    algorithm = conf.get("algorithm")
    if algorithm == "scrypt":
        try:
            if not base64.b64decode(conf.get("salt") or "", validate=True):
                problems.append("http.basic_auth: salt is required for scrypt")
        except (binascii.Error, ValueError) as err:
            problems.append(f"http.basic_auth: invalid salt: {err}")
    if algorithm == "bcrypt":
        try:
            import bcrypt  # noqa: F401 - optional dependency (the 'full' extra)
        except ImportError:
            problems.append(
                "http.basic_auth: algorithm bcrypt needs the bcrypt package (pip install 'benthic[full]')"
            )
    return problems


def basic_auth(conf: dict[str, Any]) -> Any:
    """A middleware answering 401 unless the request carries the configured credentials."""
    expected = base64.b64decode(conf["password_hash"])
    username = conf["username"].encode()
    algorithm = conf["algorithm"]
    realm = conf.get("realm") or "restricted"
    salt = base64.b64decode(conf.get("salt") or "")

    def password_matches(password: bytes) -> bool:
        if algorithm == "md5":
            return hmac.compare_digest(hashlib.md5(password).digest(), expected)
        if algorithm == "sha256":
            return hmac.compare_digest(hashlib.sha256(password).digest(), expected)
        if algorithm == "scrypt":
            key = hashlib.scrypt(
                password, salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_KEY_LEN, maxmem=2**26
            )
            return hmac.compare_digest(key, expected)
        if algorithm == "bcrypt":
            import bcrypt  # optional dependency (the 'full' extra)

            try:
                return bool(bcrypt.checkpw(password, expected))
            except ValueError:
                return False
        return False

    async def middleware(request: Request, handle: Handler) -> Response:
        user, password = _credentials(request)
        if hmac.compare_digest(user, username) and password_matches(password):
            return await handle(request)
        response = Response.text("Unauthorized\n", 401)
        response.headers.append(("WWW-Authenticate", f'Basic realm="{realm}", charset="UTF-8"'))
        return response

    return middleware


def _credentials(request: Request) -> tuple[bytes, bytes]:
    header = request.header("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return b"", b""
    try:
        decoded = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return b"", b""
    user, _, password = decoded.partition(b":")
    return user, password


def cors_problems(conf: dict[str, Any]) -> list[str]:
    if conf.get("enabled") and not conf.get("allowed_origins"):
        return ["http.cors: must specify at least one allowed origin"]
    return []


def cors(conf: dict[str, Any]) -> Any:
    """A middleware adding CORS headers for allowed origins and answering preflight requests."""
    origins = set(conf.get("allowed_origins") or [])
    any_origin = "*" in origins
    allowed_headers = [h.strip() for h in conf.get("allowed_headers") or []]
    all_headers = "*" in allowed_headers
    methods = "GET, HEAD, POST, PUT, PATCH, DELETE"

    async def middleware(request: Request, handle: Handler) -> Response:
        origin = request.header("origin")
        allowed = origin is not None and (any_origin or origin in origins)
        if request.method == "OPTIONS" and request.header("access-control-request-method"):
            if not allowed:
                return Response(403)
            headers = [
                ("Access-Control-Allow-Origin", "*" if any_origin else str(origin)),
                ("Access-Control-Allow-Methods", methods),
            ]
            requested = request.header("access-control-request-headers")
            if requested and (all_headers or allowed_headers):
                headers.append(
                    ("Access-Control-Allow-Headers", requested if all_headers else ", ".join(allowed_headers))
                )
            return Response(200, headers=headers)
        response = await handle(request)
        if allowed:
            response.headers.append(("Access-Control-Allow-Origin", "*" if any_origin else str(origin)))
        return response

    return middleware


def debug_endpoints(server: HTTPServer, scrubbed: Any, root_path: str) -> None:
    """``http.debug_endpoints``: the running config as JSON and YAML, and a dump of every task's
    and thread's stack. (Go's pprof profiles have no Python equivalent.) The caller passes the
    config with its secrets already scrubbed (``pipeline.config.scrub_secrets``)."""

    async def config_json(_: Request) -> Response:
        return Response.json(orjson.dumps(scrubbed, default=str))

    async def config_yaml(_: Request) -> Response:
        return Response(200, yaml.safe_dump(scrubbed, sort_keys=False).encode(), content_type="text/yaml")

    async def stack(_: Request) -> Response:
        parts = []
        for task in asyncio.all_tasks():
            frames = task.get_stack()
            parts.append(
                f"task {task.get_name()}:\n"
                + "".join(traceback.format_list(traceback.extract_stack(frames[-1]) if frames else []))
            )
        for thread_id, frame in sys._current_frames().items():
            parts.append(f"thread {thread_id}:\n" + "".join(traceback.format_stack(frame)))
        return Response.text("\n".join(parts))

    for path, handler in (
        ("/debug/config/json", config_json),
        ("/debug/config/yaml", config_yaml),
        ("/debug/stack", stack),
    ):
        server.route(path, handler, ("GET",))
        if root_path:
            server.route(root_path.rstrip("/") + path, handler, ("GET",))
