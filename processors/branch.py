"""The ``branch`` processor: build a request from each message with ``request_map``, run child
processors on the requests, and fold each result back into its origin with ``result_map``.

As upstream: an empty ``request_map`` starts the request as a copy of the message (metadata too);
a request mapped to ``deleted()`` skips the children for that message; the children must keep
the number and order of messages (a mismatch flags the whole batch); a failed request mapping or
a child error flags only that message and leaves it as it was; an empty ``result_map`` leaves
the origin untouched. In ``result_map``, ``this`` and ``metadata()`` read the branch result while
``root`` starts as the origin's document and ``@`` as its metadata.

The request/result core (``BranchCore``) also serves the ``workflow`` processor.
"""

from __future__ import annotations

from typing import Any

from mapping_lang.targets import Target, assignment_targets, query_targets
from pipeline.engine import run_processors
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, Field, bloblang, component_list

# -- spec -------------------------------------------------------------------------------------------


def branch_fields() -> list[Field]:
    """The fields of one branch (shared with the branches of ``workflow``)."""
    return [
        bloblang(
            "request_map",
            "Bloblang mapping that builds the request the child processors receive. Left empty, the "
            "request is an exact copy of the message, metadata included; mapping root to `deleted()` "
            "skips the branch for that message.",
            default="",
            examples=('root = {\n  "id": this.doc.id,\n  "content": this.doc.body.text\n}',),
        ),
        component_list(
            "processors",
            "processor",
            "Processors run on the requests. They must hand back as many messages as they received, in "
            "the same order: no filtering, splitting or grouping inside a branch.",
        ),
        bloblang(
            "result_map",
            "Bloblang mapping that folds the branch's result back into the original message: `this` is "
            "the result, `root` starts as the original. Left empty, the original stays as it was.",
            default="",
            examples=('meta foo_code = metadata("code")\nroot.foo_result = this',),
        ),
    ]


SPEC = ComponentSpec(
    "branch",
    "processor",
    summary="Derives a request from each message, runs child processors on it, and maps the result back "
    "into the original message.",
    description=(
        "Use it to call out to processors that would otherwise replace the whole message (an `http` "
        "request, a cache lookup) while keeping the original content. Metadata the children add is not "
        "copied back unless `result_map` does so, for example with `meta = metadata()`.\n\n"
        "When the request mapping fails the children do not run; when the children flag a message the "
        "result mapping does not run; when the result mapping fails the message is left unchanged. In "
        "each case the message carries an error flag for the usual error handling."
    ),
    categories=("Composition",),
    fields=branch_fields(),
)

# -- behaviour --------------------------------------------------------------------------------------


class BranchError(Exception):
    """A branch that failed as a whole (children failed, or changed the message count); carries
    the per-message errors found before it failed."""

    def __init__(self, text: str, errors: list[tuple[int, str]]) -> None:
        super().__init__(text)
        self.errors = errors


class BranchCore:
    """One branch: its mappings and child processors."""

    def __init__(self, conf: dict[str, Any], res: Any, *path: Any) -> None:
        self.res = res
        self.children = res.build_processors(conf["processors"], *path, "processors")
        if not self.children:
            raise ValueError("the branch processor requires at least one child processor")
        self.request_source = conf.get("request_map") or ""
        self.result_source = conf.get("result_map") or ""
        self.request_map = _compile(res, self.request_source, "request")
        self.result_map = _compile(res, self.result_source, "result")

    def targets_used(self) -> list[Target]:
        return query_targets(self.request_source) if self.request_source else []

    def targets_provided(self) -> list[Target]:
        return assignment_targets(self.result_source) if self.result_source else []

    async def create_result(
        self, parts: list[Message | None], reference: list[Message]
    ) -> tuple[list[Message | None], list[tuple[int, str]]]:
        """Run the requests through the children. Returns the results aligned with ``parts``
        (None where skipped or failed) and per-message errors; raises ``BranchError`` when the
        branch failed as a whole."""
        length = len(parts)
        skipped_or_failed: list[int] = []
        errors: list[tuple[int, str]] = []
        requests: list[Message] = []
        for i, part in enumerate(parts):
            if part is None:
                skipped_or_failed.append(i)
                continue
            if self.request_map is None:
                requests.append(part)
                continue
            part.content = b""
            try:
                request = self.request_map.map_onto(part, reference, i)
            except Exception as err:
                self.res.logger.debug(f"Failed to map request '{i}': {err}")
                skipped_or_failed.append(i)
                errors.append((i, f"request mapping failed: {err}"))
                continue
            if request is None:
                skipped_or_failed.append(i)
            else:
                requests.append(request)
        results: list[Message] = []
        if requests:
            batches = await run_processors(self.children, requests)
            if not batches:
                self.res.logger.error("Child processors failed: child processors resulted in zero messages")
                raise BranchError("child processors resulted in zero messages", errors)
            results = [m for b in batches for m in b]
        if len(results) + len(skipped_or_failed) != length:
            text = (
                "message count from branch processors does not match request, started with "
                f"{len(results) + len(skipped_or_failed)} messages, finished with {length}"
            )
            self.res.logger.error(
                f"Failed to align branch result: {text}. Keep filters, archive/unarchive and anything else "
                "that changes the number of messages out of a branch: put them before or after it."
            )
            raise BranchError(text, errors)
        aligned: list[Message | None] = [None] * length
        holes = set(skipped_or_failed)
        it = iter(results)
        for i in range(length):
            if i not in holes:
                aligned[i] = next(it)
        for i, result in enumerate(aligned):
            if result is not None and result.error is not None:
                errors.append((i, f"processors failed: {result.error}"))
                aligned[i] = None
        return aligned, errors

    def overlay(self, batch: list[Message], results: list[Message | None]) -> list[tuple[int, str]]:
        """Map each result back into its origin (in place in ``batch``); per-message errors."""
        if len(batch) != len(results):
            raise BranchError(
                "message count returned from branch has diverged from the request, started with "
                f"{len(results)} messages, finished with {len(batch)}",
                [],
            )
        if self.result_map is None:
            return []
        failed: list[tuple[int, str]] = []
        reference = [r if r is not None else Message() for r in results]
        for i, result in enumerate(results):
            if result is None:
                continue
            try:
                mapped = self.result_map.map_onto(batch[i], reference, i)
            except Exception as err:
                self.res.logger.debug(f"Failed to map result '{i}': {err}")
                failed.append((i, f"result mapping failed: {err}"))
                continue
            if mapped is not None:
                batch[i] = mapped
        return failed

    async def close(self) -> None:
        for child in self.children:
            await child.close()


def _compile(res: Any, source: str, which: str) -> Any:
    if not source:
        return None
    try:
        return res.mapping(source)
    except Exception as err:
        raise ValueError(f"failed to parse {which} mapping: {err}") from None


def request_parts(batch: list[Message]) -> list[Message | None]:
    """Copies of the messages with their error flags cleared: what a branch starts from."""
    parts: list[Message | None] = []
    for msg in batch:
        part = msg.copy()
        part.error = None
        parts.append(part)
    return parts


class BranchProcessor:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.core = BranchCore(conf, res)
        self.res = res

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        out = list(batch)
        try:
            results, errors = await self.core.create_result(request_parts(out), list(batch))
        except BranchError as err:
            for msg in out:
                msg.error = str(err)
            for i, text in err.errors:
                out[i].error = text
            return [out]
        for i, text in errors:
            out[i].error = text
            self.res.logger.debug(f"Branch error: {text}")
        try:
            failed = self.core.overlay(out, results)
        except BranchError as err:
            for msg in out:
                msg.error = str(err)
            return [out]
        for i, text in failed:
            out[i].error = text
            self.res.logger.error(f"Branch error: {text}")
        return [out]

    async def close(self) -> None:
        await self.core.close()


register_processor(SPEC, BranchProcessor)
