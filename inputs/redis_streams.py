"""The ``redis_streams`` input: read Redis streams as a member of a consumer group, acknowledging
(``XACK``) each entry once the output delivered it.

As upstream (``internal/impl/redis/input_streams.go``): the group is created when missing (from
the oldest entry with ``start_from_oldest``, else from new ones; ``create_streams`` adds
``MKSTREAM``); ``XREADGROUP`` reads up to ``limit`` entries, waiting ``timeout``; each entry is
one message whose body is the ``body_key`` field, the other fields and ``redis_stream`` (the
entry ID) becoming metadata. Acks are collected and sent every ``commit_period`` and on close. On
start the consumer first reads its own pending entries (those it took but never acknowledged,
under the same ``client_id``), so a consumer restarted after a crash delivers them. A rejected
entry is read again.

Where we differ: ``claim_min_idle`` (a benthic field, off by default) makes the consumer take
over, with ``XAUTOCLAIM``, entries another consumer of the group left pending longer than that
(the other consumer died and is not coming back under its name); an entry without ``body_key``
is left pending with a warning instead of being skipped silently.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from pipeline import redis_conn
from pipeline import spec as s
from pipeline.errors import NotConnectedError
from pipeline.message import Message
from pipeline.plugin import AckFn, register_input

SPEC = s.ComponentSpec(
    "redis_streams",
    "input",
    summary="Reads Redis streams (5.0 or later) as a member of a consumer group (XREADGROUP); give each "
    "consumer of a group its own client_id.",
    description=(
        "An entry's body is its body_key field; its other fields become metadata, with redis_stream "
        "holding the entry ID. Entries are acknowledged (XACK) after the output delivered them, in "
        "groups every commit_period. A consumer restarted under the same client_id first delivers the "
        "entries it had taken but not acknowledged; with claim_min_idle it also takes over the entries "
        "of consumers that stopped."
    ),
    categories=("Services",),
    requires=redis_conn.REQUIRES,
    fields=[
        *redis_conn.client_fields(),
        s.string(
            "body_key",
            "The entry field holding the message body; other fields become metadata.",
            default="body",
        ),
        s.string_list("streams", "The streams to consume."),
        s.auto_replay_nacks_field(),
        s.integer("limit", "How many entries to read with one request at most.", default=10),
        s.string("client_id", "This consumer's name within the group.", default=""),
        s.string("consumer_group", "The consumer group's name.", default=""),
        s.boolean("create_streams", "Create the streams that do not exist (MKSTREAM).", default=True),
        s.boolean(
            "start_from_oldest",
            "When the group is new, start from the oldest entry of each stream rather than new ones.",
            default=True,
        ),
        s.duration(
            "commit_period",
            "How often delivered entries are acknowledged; they are always acknowledged on close.",
            default="1s",
        ),
        s.duration("timeout", "How long one read waits for new entries.", default="1s"),
        s.duration(
            "claim_min_idle",
            "benthic only: take over entries that another consumer of the group left unacknowledged for "
            "this long (XAUTOCLAIM). Empty (the default) never claims.",
            default="",
            advanced=True,
            examples=("30s",),
        ),
    ],
    lint=lambda conf: (
        redis_conn.client_problems(conf)
        + ([] if conf["streams"] else ["streams: at least one stream is required"])
        + ([] if conf["limit"] > 0 else ["limit: must be at least 1"])
    ),
)


class _Entry:
    __slots__ = ("stream", "id", "message")

    def __init__(self, stream: str, entry_id: str, message: Message) -> None:
        self.stream, self.id, self.message = stream, entry_id, message


class RedisStreamsInput:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.conf = conf
        self.res = res
        self.streams: list[str] = conf["streams"]
        self.group = conf["consumer_group"]
        self.consumer = conf["client_id"]
        self.body_key = conf["body_key"].encode()
        self.client: Any = None
        # the consumer's own pending entries are read first, once per process (as upstream)
        self.backlogs: dict[str, str] = {stream: "0" for stream in self.streams}
        self.ready: deque[_Entry] = deque()
        self.acks: dict[str, list[str]] = {}
        self.in_flight: set[tuple[str, str]] = set()
        # every entry this consumer holds: queued, being delivered, or delivered and not yet XACKed
        # (a backlog read or a claim returns such an entry again: it must not be delivered twice)
        self.held: set[tuple[str, str]] = set()
        self.warned: set[tuple[str, str]] = set()
        self.next_claim = 0.0
        self.claim_cursor = {stream: "0-0" for stream in self.streams}
        self._committer: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        if self.client is not None:
            return
        client = redis_conn.make_client(self.conf)
        try:
            await client.ping()
            offset = "0" if self.conf["start_from_oldest"] else "$"
            for stream in self.streams:
                try:
                    await client.xgroup_create(
                        stream, self.group, id=offset, mkstream=self.conf["create_streams"]
                    )
                except Exception as err:
                    if "BUSYGROUP" not in str(err):
                        raise RuntimeError(
                            f"creating group {self.group} for stream {stream}: {redis_conn.error_text(err)}"
                        ) from None
        except Exception as err:
            await client.aclose()
            raise RuntimeError(
                f"redis_streams at {redis_conn.describe(self.conf)}: {redis_conn.error_text(err)}"
            ) from None
        self.client = client
        if self._committer is None:
            self._committer = asyncio.get_running_loop().create_task(self._commit_loop())

    # -- reading -----------------------------------------------------------------------------------

    async def read_batch(self) -> tuple[list[Message], AckFn]:
        while not self.ready:
            client = self.client
            if client is None:
                raise NotConnectedError()
            try:
                await self._fill(client)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self.res.logger.error(f"Error from redis: {redis_conn.error_text(err)}")
                await self._drop_client()
                raise NotConnectedError() from None
        entry = self.ready.popleft()
        self.in_flight.add((entry.stream, entry.id))
        return [entry.message.copy()], self._acker(entry)

    async def _fill(self, client: Any) -> None:
        claim_idle = self.conf["claim_min_idle"]
        if claim_idle and time.monotonic() >= self.next_claim:
            self.next_claim = time.monotonic() + max(claim_idle / 2, 0.5)
            await self._claim(client, int(claim_idle * 1000))
            if self.ready:
                return
        ids = {stream: self.backlogs.get(stream, ">") for stream in self.streams}
        reading_backlog = any(v != ">" for v in ids.values())
        result = await client.xreadgroup(
            self.group,
            self.consumer,
            ids,
            count=self.conf["limit"],
            block=None if reading_backlog else max(1, int((self.conf["timeout"] or 1.0) * 1000)),
        )
        got_backlog = set()
        for stream_name, entries in result or []:
            stream = _text(stream_name)
            if stream in self.backlogs:
                got_backlog.add(stream)
                if entries:
                    self.backlogs[stream] = _text(entries[-1][0])
                else:
                    del self.backlogs[stream]
            for entry_id, fields in entries:
                self._queue(stream, _text(entry_id), fields)
        for stream in [name for name in self.backlogs if name not in got_backlog]:
            del self.backlogs[stream]

    async def _claim(self, client: Any, min_idle_ms: int) -> None:
        for stream in self.streams:
            reply = await client.xautoclaim(
                stream,
                self.group,
                self.consumer,
                min_idle_ms,
                self.claim_cursor[stream],
                count=self.conf["limit"],
            )
            self.claim_cursor[stream] = _text(reply[0])
            for entry_id, fields in reply[1]:
                entry = _text(entry_id)
                if (stream, entry) in self.held:
                    continue  # our own entry, still being delivered
                self.res.logger.info(f"Claimed entry {entry} of stream {stream} from a stopped consumer")
                self._queue(stream, entry, fields)

    def _queue(self, stream: str, entry_id: str, fields: dict[bytes, bytes] | None) -> None:
        if (stream, entry_id) in self.held:
            return
        if not fields:  # deleted from the stream while pending: nothing left to deliver
            self._add_ack(stream, entry_id)
            return
        if self.body_key not in fields:
            if (stream, entry_id) not in self.warned:
                self.warned.add((stream, entry_id))
                self.res.logger.warn(
                    f"Entry {entry_id} of stream {stream} has no field {self.body_key.decode()!r}; left pending"
                )
            return
        self.held.add((stream, entry_id))
        meta: dict[str, Any] = {"redis_stream": entry_id}
        for key, value in fields.items():
            if key != self.body_key:
                meta[_text(key)] = _text(value)
        self.ready.append(_Entry(stream, entry_id, Message(bytes(fields[self.body_key]), meta)))

    def _acker(self, entry: _Entry) -> AckFn:
        async def ack(err: BaseException | None) -> None:
            self.in_flight.discard((entry.stream, entry.id))
            if err is None:
                self._add_ack(entry.stream, entry.id)
            else:
                self.ready.append(entry)

        return ack

    # -- acknowledging -----------------------------------------------------------------------------

    def _add_ack(self, stream: str, entry_id: str) -> None:
        self.acks.setdefault(stream, []).append(entry_id)

    async def _commit_loop(self) -> None:
        period = self.conf["commit_period"] or 1.0
        while True:
            await asyncio.sleep(period)
            await self._send_acks()

    async def _send_acks(self) -> None:
        client = self.client
        if client is None or not self.acks:
            return
        acks, self.acks = self.acks, {}
        for stream, ids in acks.items():
            try:
                await client.xack(stream, self.group, *ids)
                self.held.difference_update((stream, entry_id) for entry_id in ids)
            except Exception as err:
                # kept for the next commit: an entry is acknowledged late rather than redelivered
                self.acks.setdefault(stream, []).extend(ids)
                self.res.logger.error(f"Failed to ack stream {stream}: {redis_conn.error_text(err)}")

    async def _drop_client(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                await client.aclose()
            except Exception:  # noqa: BLE001 - already broken
                pass

    async def close(self) -> None:
        if self._committer is not None:
            self._committer.cancel()
            self._committer = None
        try:
            await self._send_acks()
        finally:
            await self._drop_client()


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, (bytes, bytearray)) else str(value)


register_input(SPEC, lambda conf, res: (RedisStreamsInput(conf, res), conf["auto_replay_nacks"]))
