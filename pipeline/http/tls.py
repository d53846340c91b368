"""TLS as one ``ssl.SSLContext``: the ``tls`` block shared by HTTP clients (``http_client``,
``run_ai``: custom root CAs, client certificates and ``skip_cert_verify``), and the
``cert_file``/``key_file`` pair of HTTP servers (``http``, the ``http_server`` input)."""

from __future__ import annotations

import os
import ssl
import tempfile
from typing import Any


def tls_problems(conf: dict[str, Any] | None, path: str = "tls") -> list[str]:
    """Lint messages for a ``tls`` block: what it accepts but this implementation cannot do."""
    if (conf or {}).get("enable_renegotiation"):
        # Go's RenegotiateFreelyAsClient has no tested equivalent here: refuse rather than
        # connect with different settings than configured
        return [f"{path}.enable_renegotiation: TLS renegotiation is not supported by benthic"]
    return []


def tls_context(conf: dict[str, Any] | None) -> ssl.SSLContext | None:
    """The context for a ``tls`` block, or None when custom TLS is off (system roots apply)."""
    if not conf or not conf.get("enabled"):
        return None
    ctx = ssl.create_default_context()
    # enable_renegotiation: false (the only value lint lets through), as Go's default
    ctx.options |= ssl.OP_NO_RENEGOTIATION
    if conf.get("root_cas"):
        ctx.load_verify_locations(cadata=conf["root_cas"])
    if conf.get("root_cas_file"):
        ctx.load_verify_locations(cafile=conf["root_cas_file"])
    if conf.get("skip_cert_verify"):
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    for i, cert in enumerate(conf.get("client_certs") or []):
        _load_client_cert(ctx, cert, i)
    return ctx


def server_tls_context(cert_file: str | None, key_file: str | None) -> ssl.SSLContext | None:
    """The context of a server serving ``cert_file`` with ``key_file``, or None (plain HTTP)
    unless both are set."""
    if not (cert_file and key_file):
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert_file, key_file)
    return ctx


def _load_client_cert(ctx: ssl.SSLContext, cert: dict[str, Any], index: int) -> None:
    password = cert.get("password") or None
    cert_file = cert.get("cert_file")
    if cert_file or cert.get("key_file"):
        if not cert_file:
            raise ValueError(f"client_certs.{index}: key_file is set but cert_file is not")
        # without key_file, ssl reads the key from cert_file (a combined PEM)
        ctx.load_cert_chain(cert_file, cert.get("key_file") or None, password)
    elif cert.get("cert") and cert.get("key"):
        # ssl loads certificates from files only: write the PEM text to private temporary files
        with tempfile.TemporaryDirectory() as tmp:
            cert_path = os.path.join(tmp, "cert.pem")
            key_path = os.path.join(tmp, "key.pem")
            for path, text in ((cert_path, cert["cert"]), (key_path, cert["key"])):
                with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as fh:
                    fh.write(text)
            ctx.load_cert_chain(cert_path, key_path, password)
    else:
        raise ValueError(
            f"client_certs.{index}: either both cert and key or both cert_file and key_file must be set"
        )
