"""The ``file`` cache: one file per key in ``directory``, the key being the file's path under it.

As upstream: no expiry; ``add`` creates the file exclusively, so a present key fails; deleting a
missing key is an error (upstream passes ``os.Remove``'s error on). Where we differ: a key that
would reach outside ``directory`` (``../x``, an absolute path) is refused.
"""

from __future__ import annotations

import os

from pipeline.plugin import register_cache
from pipeline.spec import ComponentSpec, string

SPEC = ComponentSpec(
    "file",
    "cache",
    summary="Keeps each item as a file in a directory, named by its key.",
    description="Items never expire and are never cleaned up: meant for development and debugging.",
    fields=[string("directory", "The directory the items are stored in.")],
)


class FileCache:
    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._root = os.path.realpath(directory)

    def _path(self, key: str) -> str:
        path = os.path.realpath(os.path.join(self._root, key))
        if path != self._root and not path.startswith(self._root + os.sep):
            raise ValueError(f"key '{key}' points outside the cache directory")
        return path

    async def get(self, key: str) -> bytes | None:
        try:
            with open(self._path(key), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        with open(self._path(key), "wb") as f:
            f.write(value)

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        try:
            fd = os.open(self._path(key), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as f:
            f.write(value)
        return True

    async def delete(self, key: str) -> None:
        os.remove(self._path(key))

    async def close(self) -> None:
        return None


register_cache(SPEC, lambda conf, res: FileCache(conf["directory"]))
