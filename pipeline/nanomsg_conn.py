"""What the ``nanomsg`` input and output share: the URL list, and opening a socket on it.

Upstream speaks the scalability protocols with mangos; benthic uses NNG through ``pynng`` (the
``nanomsg`` extra), which speaks the same wire protocols over ``tcp://`` and ``ipc://``. As
upstream: each item of ``urls`` may hold several URLs separated by commas; a ``*`` host
(``tcp://*:5555``) means every interface; with ``bind`` every URL is listened on, otherwise
every URL is dialled, and a dial that finds nobody listening fails the connection attempt (the
engine retries it with backoff). Once connected, the library redials a peer that went away.
"""

from __future__ import annotations

from typing import Any

REQUIRES = ("pynng", "nanomsg")  # (module, extra): lint names the pip command when it is missing


def socket_urls(urls: list[str]) -> list[str]:
    """Every URL of the ``urls`` field, comma-separated items expanded."""
    expanded = [u.strip() for item in urls for u in item.split(",") if u.strip()]
    return [u.replace("//*:", "//0.0.0.0:", 1) for u in expanded]


def open_socket(socket_type: str, urls: list[str], bind: bool, **options: Any) -> Any:
    """A pynng socket of ``socket_type`` (PULL, SUB, PUSH, PUB), bound to or dialled to ``urls``."""
    import pynng  # optional dependency: the benthic[nanomsg] extra

    kinds = {"PULL": pynng.Pull0, "SUB": pynng.Sub0, "PUSH": pynng.Push0, "PUB": pynng.Pub0}
    if socket_type not in kinds:
        raise ValueError("invalid Scalability Protocols socket type")
    socket = kinds[socket_type](**options)
    try:
        for url in urls:
            if bind:
                socket.listen(url)
            else:
                socket.dial(url, block=True)
    except pynng.NNGException as err:
        socket.close()
        raise ConnectionError(f"nanomsg {'listen on' if bind else 'dial'} {url}: {err}") from None
    return socket
