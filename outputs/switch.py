"""The ``switch`` output: send each message to the output of the first case whose ``check``
passes (and on to later cases with ``continue: true``).

Every case that got messages receives one transaction holding them, in order; the source is
acknowledged when all of them are. A check that fails to evaluate counts as false (and is logged).
Unmatched messages are dropped, or with ``strict_mode`` fail the transaction. With
``retry_until_success`` each case's output is retried until it succeeds.
"""

from __future__ import annotations

import asyncio
from typing import Any

from outputs.children import ChildOutputs, send_until_delivered
from pipeline.message import Message
from pipeline.plugin import register_output
from pipeline.spec import ComponentSpec, bloblang, boolean, component, obj_list

SPEC = ComponentSpec(
    "switch",
    "output",
    summary="The switch output type allows you to route messages to different outputs based on their contents.",
    description=(
        "Messages that do not pass the check of a single output case are effectively dropped. In order to "
        "prevent this outcome set the field strict_mode to true, in which case messages that do not pass at "
        "least one case are considered failed and will be nacked and/or reprocessed depending on your input."
    ),
    fields=[
        boolean(
            "retry_until_success",
            "If a selected output fails to send a message this field determines whether it is reattempted indefinitely. "
            "If set to false the error is instead propagated back to the input level.",
            default=False,
        ),
        boolean(
            "strict_mode",
            "This field determines whether an error should be reported if no condition is met. If set to true, an error "
            "is propagated back to the input level. The default behavior is false, which will drop the message.",
            default=False,
            advanced=True,
        ),
        obj_list(
            "cases",
            [
                bloblang(
                    "check",
                    "A Bloblang query that should return a boolean value indicating whether a message should be routed to the case output. If left empty the case always passes.",
                    default="",
                ),
                component("output", "output", "An output for messages that pass the check to be routed to."),
                boolean(
                    "continue",
                    "Indicates whether, if this case passes for a message, the next case should also be tested.",
                    default=False,
                    advanced=True,
                ),
            ],
            "A list of switch cases, outlining outputs that can be routed to.",
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
                targets[case_index].append(msg.copy())
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
                asyncio.ensure_future(send_until_delivered(out, msgs, self.stopping, self.res.logger))
                for out, msgs in zip(self.children, targets, strict=True)
                if msgs
            ]
            await _all_or_first_error(sends)
            return
        # hand each case its transaction in order (each submit returns once accepted), then wait
        pending = [await out.submit(msgs) for out, msgs in zip(self.children, targets, strict=True) if msgs]
        await _all_or_first_error(pending)


async def _all_or_first_error(waits: list[Any]) -> None:
    """Wait for every result; raise the first error once all have answered."""
    results = await asyncio.gather(*waits, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


# no max_in_flight upstream: the switch passes its callers' transactions through concurrently
register_output(SPEC, lambda conf, res: SwitchOutput(conf, res), max_in_flight=0)
