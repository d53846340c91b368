"""The ``cached`` processor: keep what child processors made of a message in a cache under an
interpolated key, and on a hit hand back the stored result instead of running them.

As upstream: results are stored in upstream's versioned format (a 4-byte big-endian version 1,
the message count, then each payload with its 4-byte length), so a cache holding values this
processor did not write fails to decode with an error; stored results carry the metadata of the
message that hit. ``skip_on`` (a Bloblang query on the first message of each result batch)
returning true, or failing, keeps that run out of the cache. A cache that cannot be written is
logged, and the results pass on.
"""

from __future__ import annotations

import struct
from typing import Any

from pipeline.durations import parse_duration_ns
from pipeline.engine import run_processors
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, bloblang, component_list, interp, string

SPEC = ComponentSpec(
    "cached",
    "processor",
    summary="Caches what a list of processors makes of a message under a key, and uses the cached result instead of running them again while the key lives.",
    description=(
        "Good for costly enrichments whose result changes rarely: a key per topic, or one fixed key with a "
        "`ttl`. The stored format is specific to this processor, so the cache cannot be filled by anything else."
    ),
    categories=("Utility",),
    fields=[
        string("cache", "Label of the cache resource that holds the results."),
        bloblang(
            "skip_on",
            "Bloblang query; when it returns true for a result, that result is not cached.",
            optional=True,
            examples=("errored()",),
        ),
        interp(
            "key",
            "Key under which the result of a message is stored and looked up.",
            examples=("my_foo_result", "${! this.document.id }"),
        ),
        interp(
            "ttl",
            "How long a stored result lives, as a duration string (caches without per-key expiry ignore it).",
            optional=True,
        ),
        component_list("processors", "processor", "The processors whose result is cached."),
    ],
)


def serialise(batch: list[Message]) -> bytes:
    parts = [struct.pack(">II", 1, len(batch))]
    for msg in batch:
        body = msg.content
        parts.append(struct.pack(">I", len(body)))
        parts.append(body)
    return b"".join(parts)


def deserialise(msg: Message, data: bytes) -> list[Message]:
    if len(data) < 4:
        raise ValueError(
            "failed to extract serialization format version: message is too small to extract number"
        )
    (version,) = struct.unpack(">I", data[:4])
    if version != 1:
        raise ValueError(f"invalid format version: {version}")
    data = data[4:]
    if len(data) < 4:
        raise ValueError("failed to extract batch size: message is too small to extract number")
    (count,) = struct.unpack(">I", data[:4])
    data = data[4:]
    out = []
    for i in range(count):
        if len(data) < 4:
            raise ValueError(f"failed to extract message {i} size: message is too small to extract number")
        (size,) = struct.unpack(">I", data[:4])
        data = data[4:]
        if len(data) < size:
            raise ValueError(f"failed to extract message {i} size: input data ended unexpectedly")
        copy = msg.copy()
        copy.content = data[:size]
        out.append(copy)
        data = data[size:]
    return out


class Cached:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        if not res.manager.has_resource("cache", conf["cache"]):
            raise ValueError(f"cache named {conf['cache']} not found")
        self.cache = res.cache(conf["cache"])
        self.key = res.interpolation(conf["key"])
        self.ttl = res.interpolation(conf["ttl"]) if conf.get("ttl") else None
        self.skip_on = res.mapping(conf["skip_on"]) if conf.get("skip_on") else None
        self.children = res.build_processors(conf["processors"], "processors")
        self.res = res

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        out: list[Message] = []
        for index, msg in enumerate(batch):
            try:
                out.extend(await self._one(msg, batch, index))
            except Exception as err:
                msg.error = str(err)
                out.append(msg)
        return [out] if out else []

    async def _one(self, msg: Message, batch: list[Message], index: int) -> list[Message]:
        try:
            key = self.key.render(msg, batch, index)
        except Exception as err:
            raise ValueError(f"failed to interpolate key expression: {err}") from None
        ttl = None
        if self.ttl is not None:
            try:
                text = self.ttl.render(msg, batch, index)
            except Exception as err:
                raise ValueError(f"failed to interpolate ttl expression: {err}") from None
            try:
                ttl = parse_duration_ns(text) / 1e9
            except ValueError as err:
                raise ValueError(f"failed to parse ttl expression: {err}") from None
        stored = await self.cache.get(key)
        if stored is not None:
            try:
                return deserialise(msg, bytes(stored))
            except ValueError as err:
                raise ValueError(
                    f"failed to parse cached result, this indicates the data was not set by this processor: {err}"
                ) from None
        batches = await run_processors(self.children, [msg])
        should_cache = True
        results: list[Message] = []
        for b in batches:
            if self._skip(b):
                should_cache = False
            results.extend(b)
        if should_cache:
            try:
                await self.cache.set(key, serialise(results), ttl)
            except Exception as err:
                self.res.logger.error(f"failed to write result to cache: {err}")
        return results

    def _skip(self, batch: list[Message]) -> bool:
        if self.skip_on is None or not batch:
            return False
        try:
            return bool(self.skip_on.check(batch[0], batch, 0))
        except Exception as err:
            self.res.logger.error(f"skip_on check failed: {err}, caching will be skipped as a precaution")
            return True

    async def close(self) -> None:
        for child in self.children:
            await child.close()


register_processor(SPEC, Cached)
