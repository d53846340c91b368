"""The ``switch`` processor: route each message through the processors of the first case whose
``check`` passes.

A check that fails to evaluate (a Bloblang error or a non-boolean result) flags the message with
that error and takes it out of the switch: no later case tests it. Unmatched messages pass
through unchanged. The result is one batch in the order of the input, messages expanded from one
input (by ``unarchive`` say) keeping their place.
"""

from __future__ import annotations

from typing import Any

from pipeline.engine import run_processors
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, bloblang, boolean, component_list, obj_list

SPEC = ComponentSpec(
    "switch",
    "processor",
    summary="Chooses which processors a message goes through by testing it against a list of cases.",
    description=(
        "Cases are tried in order. A case whose Bloblang `check` returns true, or that has no check, runs "
        "its processors on the message."
    ),
    root=obj_list(
        "switch",
        [
            bloblang(
                "check",
                "Bloblang query returning true when this case's processors should run on the message. An empty check matches every message.",
                default="",
            ),
            component_list(
                "processors", "processor", "Processors run on a message that matches this case.", default=[]
            ),
            boolean(
                "fallthrough",
                "When this case matches, also run the next case's processors without testing its check.",
                default=False,
                advanced=True,
            ),
            boolean(
                "continue",
                "When this case matches, go on testing the cases after it instead of stopping here.",
                default=False,
                advanced=True,
            ),
        ],
        default=[],
    ),
)


def _lint(conf: Any) -> list[str]:
    problems = []
    for i, case in enumerate(conf or []):
        if not isinstance(case, dict):
            continue
        if not case.get("processors"):
            problems.append(
                f"case {i}: case has no processors, in order to have a no-op case use a `noop` processor"
            )
        if case.get("fallthrough") and case.get("continue"):
            problems.append(f"case {i}: a case cannot have both fallthrough and continue set")
    return problems


SPEC.lint = _lint


class _Case:
    def __init__(self, check: Any, processors: list[Any], fallthrough: bool, cont: bool) -> None:
        self.check = check
        self.processors = processors
        self.fallthrough = fallthrough
        self.cont = cont


class Switch:
    def __init__(self, conf: list[dict[str, Any]], res: Any) -> None:
        self.res = res
        problems = _lint(conf)
        if problems:
            raise ValueError(problems[0])
        self.cases = [
            _Case(
                res.mapping(case["check"]) if case.get("check") else None,
                res.build_processors(case["processors"], "switch", i, "processors"),
                bool(case.get("fallthrough")),
                bool(case.get("continue")),
            )
            for i, case in enumerate(conf)
        ]

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        # each message carries (origin index, sequence) so the result can be put back in order
        remaining: list[tuple[int, Message]] = list(enumerate(batch))
        result: list[tuple[int, Message]] = []
        carried: list[tuple[int, Message]] = []
        for case_index, case in enumerate(self.cases):
            passed: list[tuple[int, Message]] = []
            still: list[tuple[int, Message]] = []
            candidates = [m for _, m in remaining]
            for position, (origin, msg) in enumerate(remaining):
                if case.check is None:
                    passed.append((origin, msg))
                    continue
                try:
                    ok = case.check.check(msg, candidates, position)
                    if not isinstance(ok, bool):
                        raise ValueError(f"expected bool value, got {type(ok).__name__}")
                except Exception as err:
                    self.res.logger.error(f"Failed to test case {case_index}: {err}")
                    msg.error = str(err)
                    result.append((origin, msg))
                    continue
                (passed if ok else still).append((origin, msg))
            remaining = still
            group = carried + passed
            carried = []
            if not group:
                continue
            origins = {id(m): o for o, m in group}
            outputs = await run_processors(case.processors, [m for _, m in group])
            produced: list[tuple[int, Message]] = []
            last_origin = group[0][0]
            for out in outputs:
                for msg in out:
                    last_origin = origins.get(id(msg), last_origin)
                    produced.append((last_origin, msg))
            if case.fallthrough:
                carried = produced
            elif case.cont:
                remaining = sorted(remaining + produced, key=lambda item: item[0])
            else:
                result.extend(produced)
        result.extend(carried)
        result.extend(remaining)
        result.sort(key=lambda item: item[0])  # stable: expanded messages keep their order
        merged = [m for _, m in result]
        return [merged] if merged else []

    async def close(self) -> None:
        for case in self.cases:
            for stage in case.processors:
                await stage.close()


register_processor(SPEC, lambda conf, res: Switch(conf, res))
