"""TLS as one ``ssl.SSLContext``: the ``tls`` block shared by clients (``http_client``,
``run_ai``, the ``socket`` input and output: custom root CAs, client certificates and
``skip_cert_verify``), the ``cert_file``/``key_file`` pair of HTTP servers (``http``, the
``http_server`` input), and the ``tls`` block of the ``socket_server`` input (a certificate from
files or a self-signed one made at start, and how client certificates are checked)."""

from __future__ import annotations

import datetime
import os
import ssl
import tempfile
from typing import Any

# socket_server client_auth values Python's ssl can honour. Go's "request" and "require_any" accept
# a client certificate without verifying it, which OpenSSL through Python's ssl cannot do.
CLIENT_AUTH_MODES = {
    "no": ssl.CERT_NONE,
    "verify_if_given": ssl.CERT_OPTIONAL,
    "require_valid": ssl.CERT_REQUIRED,
}


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


def socket_tls(conf: dict[str, Any] | None, host: str | None) -> tuple[ssl.SSLContext | None, str | None]:
    """The context and server name of a TLS socket client (``socket`` input and output) that
    connects to ``host``, or to a Unix socket when ``host`` is None: (None, None) without TLS.

    Go's socket clients are given no server name, so Go refuses to verify at all; a TCP client
    here checks the certificate against ``host``. A Unix socket has no name to check: as Go, it
    needs ``skip_cert_verify`` (its empty server name then checks none)."""
    ctx = tls_context(conf)
    if ctx is None:
        return None, None
    if host is not None:
        return ctx, host
    if ctx.check_hostname:
        raise ConnectionError(
            "tls: either ServerName or InsecureSkipVerify must be specified in the tls.Config"
        )
    return ctx, ""


def server_tls_context(cert_file: str | None, key_file: str | None) -> ssl.SSLContext | None:
    """The context of a server serving ``cert_file`` with ``key_file``, or None (plain HTTP)
    unless both are set."""
    if not (cert_file and key_file):
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert_file, key_file)
    return ctx


def listener_tls_context(
    cert_file: str | None, key_file: str | None, self_signed: bool, client_auth: str = "no"
) -> ssl.SSLContext:
    """The context of a TLS listener (the ``socket_server`` input's ``tls`` network): the
    certificate of ``cert_file`` and ``key_file``, else a self-signed one made now when
    ``self_signed`` is on. Client certificates are checked as ``client_auth`` says, against the
    system's certificate authorities (``SSL_CERT_FILE``/``SSL_CERT_DIR`` point elsewhere), as Go
    does when no client CAs are configured."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if cert_file and key_file:
        ctx.load_cert_chain(cert_file, key_file)
    elif self_signed:
        cert_pem, key_pem = _self_signed_pair()
        _load_pem_pair(ctx, cert_pem, key_pem, None)
    else:
        raise ValueError("must specify either a certificate file or enable self signed")
    if client_auth not in CLIENT_AUTH_MODES:
        raise ValueError(f"tls.client_auth {client_auth} is not supported by benthic")
    ctx.verify_mode = CLIENT_AUTH_MODES[client_auth]
    if ctx.verify_mode != ssl.CERT_NONE:
        ctx.load_default_certs(ssl.Purpose.CLIENT_AUTH)
    return ctx


def _self_signed_pair() -> tuple[str, str]:
    """A throwaway certificate and its key (PEM): an ECDSA P-521 key as upstream, valid from now
    for a year (upstream leaves the validity unset, which Python's ssl would refuse)."""
    # imported here: cryptography's x509 takes about 0.1 s to import, and every process imports
    # this module while few ever make a certificate
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization  # (see above)
    from cryptography.hazmat.primitives.asymmetric import ec  # (see above)
    from cryptography.x509.oid import NameOID  # (see above)

    key = ec.generate_private_key(ec.SECP521R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "benthic self-signed")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


def _load_pem_pair(ctx: ssl.SSLContext, cert: str, key: str, password: str | None) -> None:
    """Load a certificate and key given as PEM text (ssl reads them from files only: they go to
    private temporary files for the moment of loading)."""
    with tempfile.TemporaryDirectory() as tmp:
        cert_path = os.path.join(tmp, "cert.pem")
        key_path = os.path.join(tmp, "key.pem")
        for path, text in ((cert_path, cert), (key_path, key)):
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as fh:
                fh.write(text)
        ctx.load_cert_chain(cert_path, key_path, password)


def _load_client_cert(ctx: ssl.SSLContext, cert: dict[str, Any], index: int) -> None:
    password = cert.get("password") or None
    cert_file = cert.get("cert_file")
    if cert_file or cert.get("key_file"):
        if not cert_file:
            raise ValueError(f"client_certs.{index}: key_file is set but cert_file is not")
        # without key_file, ssl reads the key from cert_file (a combined PEM)
        ctx.load_cert_chain(cert_file, cert.get("key_file") or None, password)
    elif cert.get("cert") and cert.get("key"):
        _load_pem_pair(ctx, cert["cert"], cert["key"], password)
    else:
        raise ValueError(
            f"client_certs.{index}: either both cert and key or both cert_file and key_file must be set"
        )
