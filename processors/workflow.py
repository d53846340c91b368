"""The ``workflow`` processor: run a set of ``branch`` processors, independent ones concurrently,
in an order given by ``order`` or worked out from what each branch's mappings read and write.

As upstream: a branch whose ``request_map`` reads a field (or metadata key) that another
branch's ``result_map`` writes (the written path being a prefix of the read one) runs after it;
branches in a tier run concurrently and their results are applied in tier order. With
``meta_path`` set, each message records ``succeeded``/``skipped``/``failed`` branches at that
dot path (keeping an earlier record under ``previous``), and branches an earlier record lists as
succeeded or skipped, or that an ``apply`` list leaves out, are skipped; with ``meta_path``
empty, a failed branch flags the message (``workflow branches failed: [a b]``). Names in
``order`` or ``branch_resources`` that are not inline branches refer to ``branch`` processor
resources.

Where we differ: branch resources are resolved once when the workflow is built (resources are
not swapped at run time in benthic), so the order is fixed from the start.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, Field, string, string_list
from processors.branch import BranchCore, BranchError, branch_fields, request_parts

_STAGE_NAME = re.compile(r"[a-zA-Z0-9\-_]+")


def _lint(conf: Any) -> list[str]:
    problems = []
    for name in (conf or {}).get("branches") or {}:
        if not _STAGE_NAME.fullmatch(str(name)):
            problems.append(f"workflow branch name '{name}' contains invalid characters")
    return problems


SPEC = ComponentSpec(
    "workflow",
    "processor",
    summary="Runs a graph of `branch` processors, running the ones that do not depend on each other "
    "at the same time.",
    description=(
        "Each branch enriches the message with the result of its own processors (see `branch`). When "
        "several of them wait on outside services, running them side by side cuts the time a message "
        "spends in the pipeline. Without `order`, a branch that reads a field another branch writes is "
        "run after it; with `order`, tiers run one after another as listed.\n\n"
        "With `meta_path` set, the processor writes an object at that path of each message listing the "
        "branches that `succeeded`, were `skipped` or `failed` (with their errors). A message that "
        "already carries such an object skips the branches it lists as succeeded or skipped, so "
        "replaying a partly failed message only retries what failed; an `apply` list in it names the "
        "only branches to run."
    ),
    categories=("Composition",),
    fields=[
        string(
            "meta_path",
            "Dot path in the message where the record of which branches ran is kept and read; empty "
            "turns the record off, and failed branches then flag the message with an error instead.",
            default="meta.workflow",
        ),
        Field(
            "order",
            "any",
            description="Tiers of branch names, run one tier after another; the branches of a tier run "
            "at the same time. Names that are not in `branches` refer to `branch` processor resources. "
            "Left empty, the order is worked out from the branches' mappings.",
            default=[],
            examples=([["foo", "bar"], ["baz"]], [["foo"], ["bar"], ["baz"]]),
            check=lambda v: (
                None
                if isinstance(v, list)
                and all(isinstance(t, list) and all(isinstance(n, str) for n in t) for t in v)
                else "order must be a list of lists of branch names"
            ),
        ),
        string_list(
            "branch_resources",
            "Labels of `branch` processor resources to include beside `branches`, ordered automatically "
            "with them. Resources named in `order` need not be listed here.",
            default=[],
            advanced=True,
        ),
        Field(
            "branches",
            "object",
            "map",
            description="The workflow's branches by name, each configured like a `branch` processor.",
            default={},
            children=branch_fields(),
        ),
    ],
    lint=_lint,
)


# -- ordering ---------------------------------------------------------------------------------------


def _provides(wanted: tuple[str, ...], provided: tuple[str, ...]) -> bool:
    return len(wanted) >= len(provided) and wanted[: len(provided)] == provided


def resolve_order(branches: dict[str, BranchCore]) -> list[list[str]]:
    """Tiers from dependencies: a branch waits for every branch whose result it reads."""
    deps: dict[str, set[str]] = {}
    for name, branch in branches.items():
        wanted = branch.targets_used()
        deps[name] = {
            other
            for other, candidate in branches.items()
            if other != name and any(_provides(w, p) for p in candidate.targets_provided() for w in wanted)
        }
    tiers: list[list[str]] = []
    done: set[str] = set()
    while len(done) < len(deps):
        tier = sorted(n for n, d in deps.items() if n not in done and d <= done)
        if not tier:
            stuck = sorted(n for n in deps if n not in done)
            raise ValueError(
                f"failed to automatically resolve DAG, circular dependencies detected for branches: [{' '.join(stuck)}]"
            )
        tiers.append(tier)
        done.update(tier)
    return tiers


def _verify_order(order: list[list[str]], names: list[str]) -> None:
    seen: set[str] = set()
    for i, tier in enumerate(order):
        if not tier:
            raise ValueError(f"explicit order tier '{i}' was empty")
        for name in tier:
            if name in seen:
                raise ValueError(f"branch specified in order listed multiple times: {name}")
            seen.add(name)
    missing = [n for n in names if n not in seen]
    if missing:
        raise ValueError(f"the following branches were missing from order: [{' '.join(missing)}]")


# -- the record of a run ----------------------------------------------------------------------------


def dot_path(text: str) -> list[str]:
    """A dot path as upstream splits it (``~1`` stands for a dot, ``~0`` for a tilde)."""
    return [p.replace("~1", ".").replace("~0", "~") for p in text.split(".")] if text else []


def _get(doc: Any, path: list[str]) -> Any:
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _set(doc: Any, path: list[str], value: Any) -> Any:
    if not path:
        return value
    if not isinstance(doc, dict):
        doc = {}
    doc[path[0]] = _set(doc.get(path[0]), path[1:], value)
    return doc


class _Record:
    def __init__(self, names: list[str]) -> None:
        self.succeeded = set(names)
        self.skipped: set[str] = set()
        self.failed: dict[str, str] = {}

    def skip(self, name: str) -> None:
        self.succeeded.discard(name)
        self.skipped.add(name)

    def fail(self, name: str, why: str) -> None:
        self.succeeded.discard(name)
        self.skipped.discard(name)
        self.failed[name] = why

    def as_object(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.succeeded:
            out["succeeded"] = sorted(self.succeeded)
        if self.skipped:
            out["skipped"] = sorted(self.skipped)
        if self.failed:
            out["failed"] = dict(self.failed)
        return out


# -- behaviour --------------------------------------------------------------------------------------


class Workflow:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.res = res
        problems = _lint(conf)
        if problems:
            raise ValueError(problems[0])
        self.meta_path = dot_path(conf["meta_path"])
        self.inline: dict[str, BranchCore] = {}
        self.branches: dict[str, BranchCore] = {}
        for name, branch_conf in (conf["branches"] or {}).items():
            core = BranchCore(branch_conf, res, "branches", name)
            self.inline[name] = core
            self.branches[name] = core
        for name in conf["branch_resources"]:
            if name in self.branches:
                raise ValueError(f"branch resource name '{name}' collides with an explicit branch")
            self.branches[name] = self._resource_branch(name)
        order: list[list[str]] = conf["order"] or []
        for tier in order:
            for name in tier:
                if name not in self.branches:
                    self.branches[name] = self._resource_branch(name)
        if order:
            _verify_order(order, list(self.branches))
            self.order = [list(t) for t in order]
        else:
            self.order = resolve_order(self.branches)
            res.logger.info(f"Automatically resolved workflow DAG: {self.order}")

    def _resource_branch(self, name: str) -> BranchCore:
        if not self.res.manager.has_resource("processor", name):
            raise ValueError(f"processor resource '{name}' was not found")
        stage = self.res.build_processor({"resource": name})
        core = getattr(stage.processor, "core", None)
        if not isinstance(core, BranchCore):
            raise ValueError(f"processor resource '{name}' is not a branch processor")
        return core

    def _skips(self, msg: Message) -> set[str]:
        if not self.meta_path:
            return set()
        try:
            doc = msg.structured()
        except ValueError:
            return set()
        record = _get(doc, self.meta_path)
        if not isinstance(record, dict):
            return set()
        skip: set[str] = set()
        for key in ("skipped", "succeeded"):
            listed = record.get(key)
            if isinstance(listed, list):
                skip.update(n for n in listed if isinstance(n, str) and n in self.branches)
        apply = record.get("apply")
        if isinstance(apply, list) and apply:
            skip.update(self.branches)
            skip.difference_update(n for n in apply if isinstance(n, str))
        return skip

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        current = list(batch)
        skips = [self._skips(m) for m in current]
        names = [n for tier in self.order for n in tier]
        records = [_Record(names) for _ in current]
        for tier in self.order:
            reference = list(current)

            async def run(name: str, reference: list[Message] = reference) -> Any:
                parts = request_parts(reference)
                for i, s in enumerate(skips):
                    if name in s:
                        parts[i] = None
                try:
                    return await self.branches[name].create_result(parts, reference)
                except BranchError as err:
                    return err

            outcomes = await asyncio.gather(*(run(name) for name in tier))
            for name, outcome in zip(tier, outcomes, strict=True):
                if isinstance(outcome, BranchError):
                    for i, text in outcome.errors:
                        records[i].fail(name, text)
                    self._fail_all(records, name, str(outcome))
                    continue
                results, errors = outcome
                for i, result in enumerate(results):
                    if result is None:
                        records[i].skip(name)
                for i, text in errors:
                    records[i].fail(name, text)
                try:
                    failed = self.branches[name].overlay(current, results)
                except BranchError as err:
                    self._fail_all(records, name, str(err))
                    continue
                for i, text in failed:
                    records[i].fail(name, text)
        for i, msg in enumerate(current):
            if self.meta_path:
                try:
                    doc = msg.structured()
                except ValueError as err:
                    self.res.logger.error(f"Failed to parse message for meta update: {err}")
                    msg.error = str(err)
                    continue
                record = records[i].as_object()
                previous = _get(doc, self.meta_path)
                if previous is not None:
                    record["previous"] = previous
                updated = current[i].copy()
                updated.set_structured(_set(_copy_doc(doc), self.meta_path, record))
                current[i] = updated
            elif records[i].failed:
                current[i].error = f"workflow branches failed: [{' '.join(sorted(records[i].failed))}]"
        return [current]

    def _fail_all(self, records: list[_Record], name: str, text: str) -> None:
        self.res.logger.error(f"Failed to perform enrichment '{name}': {text}")
        for record in records:
            record.fail(name, text)

    async def close(self) -> None:
        for core in self.inline.values():
            await core.close()


def _copy_doc(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {k: _copy_doc(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_copy_doc(v) for v in doc]
    return doc


register_processor(SPEC, Workflow)
