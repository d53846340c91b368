"""The ``switch`` output: send each message to the output of the first case whose ``check``
passes (and on to later cases with ``continue: true``).

Every case that got messages receives one transaction holding them, in order; the source is
acknowledged when all of them are. A check that fails to evaluate counts as false (and is logged).
Unmatched messages are dropped, or with ``strict_mode`` fail the transaction. With
``retry_until_success`` each case's output is retried until it succeeds; without it, as upstream,
a case whose output fails fails only the messages sent to it (a ``BatchError``), so a retry does
not send the others' messages again.
"""

from __future__ import annotations

import asyncio
from typing import Any

from outputs.children import ChildOutputs, send_until_delivered
from pipeline.errors import BatchError
from pipeline.message import Message
from pipeline.plugin import register_output
from pipeline.spec import ComponentSpec, bloblang, boolean, component, obj_list

SPEC = ComponentSpec(
    "switch",
    "output",
    summary="Sends each message to the output of the case it matches, so what a message contains decides where it goes.",
    description=(
        "A message that matches no case is silently discarded, unless `strict_mode` is true: then it "
        "counts as a failed delivery, and the input rejects or redelivers it as it normally would."
    ),
    fields=[
        boolean(
            "retry_until_success",
            "When true, a case output that fails to deliver is retried without limit; when false, the "
            "failure is returned to the input.",
            default=False,
        ),
        boolean(
            "strict_mode",
            "What happens to a message no case matches: false (the default) discards it; true returns an "
            "error to the input.",
            default=False,
            advanced=True,
        ),
        obj_list(
            "cases",
            [
                bloblang(
                    "check",
                    "Bloblang query returning true for messages this case's output should receive. An empty check matches every message.",
                    default="",
                ),
                component("output", "output", "Where messages matching this case are sent."),
                boolean(
                    "continue",
                    "When this case matches, keep testing the following cases, so the message can go to several outputs.",
                    default=False,
                    advanced=True,
                ),
            ],
            "The cases, tested in order, each naming an output.",
            default=[],
        ),
    ],
)


def _lint(conf: Any) -> list[str]:
    if len((conf or {}).get("cases") or []) < 2:
        return ["attempting to create switch with fewer than 2 cases"]
    return []


SPEC.lint = _lint


class NoCaseMatched(Exception):
    pass


class SwitchOutput(ChildOutputs):
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        problems = _lint(conf)
        if problems:
            raise ValueError(problems[0])
        super().__init__(
            [res.build_output(case["output"], "cases", i, "output") for i, case in enumerate(conf["cases"])]
        )
        self.res = res
        self.retry = conf["retry_until_success"]
        self.strict = conf["strict_mode"]
        self.checks = [res.mapping(case["check"]) if case.get("check") else None for case in conf["cases"]]
        self.continues = [bool(case.get("continue")) for case in conf["cases"]]

    def _route(self, batch: list[Message]) -> list[list[Message]]:
        targets: list[list[Message]] = [[] for _ in self.children]
        for index, msg in enumerate(batch):
            matched = False
            for case_index, check in enumerate(self.checks):
                if check is not None:
                    try:
                        passed = check.check(msg, batch, index) is True
                    except Exception as err:
                        self.res.logger.error(f"Failed to test case {case_index}: {err}")
                        passed = False
                    if not passed:
                        continue
                matched = True
                targets[case_index].append(msg)  # copied per case when sent
                if not self.continues[case_index]:
                    break
            if not matched and self.strict:
                self.res.logger.error("Message failed to match any switch case")
                raise NoCaseMatched("no switch output conditions were met by message")
        return targets

    async def write_batch(self, batch: list[Message]) -> None:
        targets = self._route(batch)
        if self.retry:
            sends = [
                asyncio.ensure_future(send_until_delivered(out, copies, msgs, self.stopping, self.res.logger))
                for out, copies, msgs in zip(self.children, self.copies, targets, strict=True)
                if msgs
            ]
            await _all_or_first_error(sends)
            return
        # hand each case its transaction in order (each submit returns once accepted), then wait
        sent = []
        for out, copies, msgs in zip(self.children, self.copies, targets, strict=True):
            if msgs:
                copied = copies.of(msgs)
                sent.append((copies, msgs, copied, await out.submit(copied)))
        results = await asyncio.gather(*(done for *_, done in sent), return_exceptions=True)
        position = {id(msg): index for index, msg in enumerate(batch)}
        problem: BatchError | None = None
        first: BaseException | None = None
        for (copies, msgs, copied, _), result in zip(sent, results, strict=True):
            if not isinstance(result, BaseException):
                copies.delivered(msgs)
                continue
            first = first or result
            # as upstream, a case's failure fails only the messages sent to it
            failed = result.indexes_in(copied) if isinstance(result, BatchError) else None
            if failed is None:
                failed = dict.fromkeys(range(len(msgs)), result)
            copies.delivered([msg for k, msg in enumerate(msgs) if k not in failed])
            for k, err in failed.items():
                problem = (problem or BatchError(batch, result)).failed(position[id(msgs[k])], err)
        if problem is None:
            return
        assert first is not None
        if len(problem.errors) == len(batch) and not isinstance(first, BatchError):
            raise first
        raise problem


async def _all_or_first_error(waits: list[Any]) -> None:
    """Wait for every result; raise the first error once all have answered."""
    results = await asyncio.gather(*waits, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


# no max_in_flight upstream: the switch passes its callers' transactions through concurrently
register_output(SPEC, lambda conf, res: SwitchOutput(conf, res), max_in_flight=0)
