"""What one ``run_ai`` message carries: a Run:ai workload or pod re-shaped the way OpenMeter's
plugin re-serialises it.

OpenMeter decodes Run:ai's JSON into typed Go structs and encodes those again, so a message holds
a fixed subset of fields, under OpenMeter's key casing, with Go zero values for missing fields
(``""``, ``0``, ``false``) and ``null`` only where the struct has a pointer. Go's decoder matches
keys case-insensitively; so does ``_Fields.get``.

A value of the wrong JSON type (a string ``runningPods``, a fraction where Go has an ``int``, a
timestamp that is not RFC 3339) makes Go's decoder fail the whole listing. Here
:func:`decode_problem` finds it first, with Go's wording, and the client rejects that one resource
with a warning; the others are listed. ``null`` is accepted anywhere, as Go leaves the zero value.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from mapping_lang.value import format_float_json

_ZERO_TIME = "0001-01-01T00:00:00Z"
_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


class _Fields:
    """A Run:ai object read with Go's case-insensitive key matching."""

    __slots__ = ("_raw", "_folded")

    def __init__(self, raw: Any) -> None:
        self._raw: dict[str, Any] = raw if isinstance(raw, dict) else {}
        self._folded: dict[str, Any] | None = None

    def get(self, key: str) -> Any:
        if key in self._raw:
            return self._raw[key]
        if self._folded is None:
            self._folded = {}
            for k, v in self._raw.items():
                self._folded.setdefault(k.lower(), v)
        return self._folded.get(key.lower())

    def string(self, key: str) -> str:
        return _as_string(self.get(key))

    def float(self, key: str) -> float:
        return _as_float(self.get(key))

    def int(self, key: str) -> int:
        return _as_int(self.get(key))

    def nullable_string(self, key: str) -> str | None:
        value = self.get(key)
        return None if value is None or isinstance(value, (dict, list)) else _as_string(value)

    def time(self, key: str) -> str:
        return _go_time(self.get(key))

    def nullable_time(self, key: str) -> str | None:
        value = self.get(key)
        return None if value is None else _go_time(value)

    def obj(self, key: str) -> _Fields:
        return _Fields(self.get(key))


def _as_string(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_float(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        return 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _as_int(value: Any) -> int:
    if isinstance(value, bool) or value is None:
        return 0
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return 0


def _go_time(value: Any) -> str:
    """A timestamp as Go's ``time.Time`` re-encodes it: RFC 3339 with the fraction's trailing zeros
    trimmed (the offset is kept)."""
    if not isinstance(value, str):
        return _ZERO_TIME
    match = _RFC3339.match(value)
    if match is None:
        return _ZERO_TIME
    whole, fraction, zone = match.groups()
    fraction = (fraction or "")[:10].rstrip("0")
    if fraction == ".":
        fraction = ""
    zone = "Z" if zone in ("Z", "z", "+00:00", "-00:00") else zone  # Go prints a zero offset as Z
    return f"{whole.replace('t', 'T')}{fraction}{zone}"


# -- the types of OpenMeter's structs, as Go's decoder checks them ------------------------------------

_Schema = dict[str, Any]  # field -> "string" | "int" | "float" | "bool" | "time" | _Schema | [_Schema]

_LIMIT_REQUEST_FLOAT: _Schema = {"limit": "float", "request": "float"}
_LIMIT_REQUEST_STRING: _Schema = {"limit": "string", "request": "string"}
_REQUESTED: _Schema = {
    "gpuRequestType": "string",
    "gpu": _LIMIT_REQUEST_FLOAT,
    "gpuMemory": _LIMIT_REQUEST_STRING,
    "cpu": _LIMIT_REQUEST_FLOAT,
    "cpuMemory": _LIMIT_REQUEST_STRING,
}
_ALLOCATED: _Schema = {"gpu": "float", "gpuMemory": "string", "cpu": "float", "cpuMemory": "string"}
WORKLOAD_SCHEMA: _Schema = {
    **dict.fromkeys(("tenantId", "runningPods", "idleGpus"), "int"),
    **dict.fromkeys(
        (
            "type",
            "namespace",
            "name",
            "id",
            "priorityClassName",
            "submittedBy",
            "clusterId",
            "projectName",
            "projectId",
            "departmentName",
            "departmentId",
            "phase",
        ),
        "string",
    ),
    "workloadRequestedResources": _REQUESTED,
    "allocatedResources": _ALLOCATED,
    "preemptible": "bool",
    "requestedPods": {"count": "int"},
    "idleAllocatedGpus": "float",
    "createdAt": "time",
}
POD_SCHEMA: _Schema = {
    **dict.fromkeys(
        (
            "name",
            "id",
            "priorityClassName",
            "workloadId",
            "clusterId",
            "projectId",
            "nodeName",
            "currentNodePool",
            "requestedNodePool",
            "k8sPhase",
            "projectName",
            "workloadName",
        ),
        "string",
    ),
    **dict.fromkeys(("createdAt", "completedAt", "k8sPhaseUpdatedAt", "updatedAt"), "time"),
    "containers": [{"name": "string", "image": "string", "startedAt": "time"}],
    "requestedResources": _REQUESTED,
    "allocatedResources": _ALLOCATED,
    "tenantId": "int",
}
_GO_TYPES = {"string": "string", "int": "int", "float": "float64", "bool": "bool", "time": "time.Time"}
_INT64 = (-(2**63), 2**63 - 1)


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _type_problem(value: Any, expected: Any, where: str) -> str | None:
    """Go's unmarshal error for ``value`` in a field of type ``expected``, or None."""
    if value is None:
        return None
    if isinstance(expected, dict):
        if not isinstance(value, dict):
            return f"json: cannot unmarshal {_json_kind(value)} into Go struct field {where} of type struct"
        fields = _Fields(value)
        for name, kind in expected.items():
            field = fields.get(name)
            if field is None:
                continue
            # the common, well-typed scalar is settled here, without the field's path being
            # built or a call per field (a listing holds thousands of objects)
            t = type(field)
            if (
                (kind == "string" and t is str)
                or (kind == "float" and (t is int or t is float))
                or (kind == "int" and t is int and _INT64[0] <= field <= _INT64[1])
                or (kind == "bool" and t is bool)
            ):
                continue
            problem = _type_problem(field, kind, f"{where}.{name}")
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(value, list):
            return f"json: cannot unmarshal {_json_kind(value)} into Go struct field {where} of type []struct"
        for item in value:
            problem = _type_problem(item, expected[0], where)
            if problem:
                return problem
        return None
    kind = _json_kind(value)
    go_type = _GO_TYPES[expected]
    wrong = f"json: cannot unmarshal {kind} into Go struct field {where} of type {go_type}"
    if expected in ("string", "time"):
        if kind != "string":
            return wrong
        if expected == "time" and _RFC3339.match(value) is None:
            return f'{where}: parsing time "{value[:40]}" as RFC 3339: not a timestamp'
    elif expected == "bool":
        return None if kind == "bool" else wrong
    elif kind != "number":
        return wrong
    elif expected == "int" and (isinstance(value, float) or not _INT64[0] <= value <= _INT64[1]):
        return f"json: cannot unmarshal number {value} into Go struct field {where} of type int"
    return None


def decode_problem(raw: Any, resource_type: str) -> str | None:
    """Why Go's decoder would refuse this listed workload or pod (a field of the wrong type), or
    why we do (it has no ``id``); None when it is fine."""
    struct = "Pod" if resource_type == "pod" else "Workload"
    if not isinstance(raw, dict):
        return f"json: cannot unmarshal {_json_kind(raw)} into Go value of type {struct}"
    problem = _type_problem(raw, POD_SCHEMA if resource_type == "pod" else WORKLOAD_SCHEMA, struct)
    if problem:
        return problem
    if not _Fields(raw).string("id"):
        return f"the {resource_type} has no id"
    return None


def resource_ids(raw: dict[str, Any], resource_type: str) -> tuple[str, str]:
    """(the resource's id, its workload's id) of a listed resource that passed :func:`decode_problem`."""
    f = _Fields(raw)
    return f.string("id"), f.string("workloadId" if resource_type == "pod" else "id")


def running_pods(raw: dict[str, Any]) -> int:
    return _Fields(raw).int("runningPods")


def _requested_resources(f: _Fields) -> dict[str, Any]:
    gpu, gpu_memory, cpu, cpu_memory = f.obj("gpu"), f.obj("gpuMemory"), f.obj("cpu"), f.obj("cpuMemory")
    return {
        "gpuRequestType": f.string("gpuRequestType"),
        "gpu": {"limit": gpu.float("limit"), "request": gpu.float("request")},
        "gpuMemory": {"limit": gpu_memory.string("limit"), "request": gpu_memory.string("request")},
        "cpu": {"limit": cpu.float("limit"), "request": cpu.float("request")},
        "cpuMemory": {"limit": cpu_memory.string("limit"), "request": cpu_memory.string("request")},
    }


def _allocated_resources(f: _Fields) -> dict[str, Any]:
    return {
        "gpu": f.float("gpu"),
        "gpuMemory": f.string("gpuMemory"),
        "cpu": f.float("cpu"),
        "cpuMemory": f.string("cpuMemory"),
    }


def workload_body(raw: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
    """The message body of one workload, fields in OpenMeter's order."""
    f = _Fields(raw)
    body: dict[str, Any] = {
        "resourceType": "workload",
        "tenantId": f.int("tenantId"),
        "type": f.string("type"),
        "namespace": f.string("namespace"),
        "name": f.string("name"),
        "id": f.string("id"),
        "priorityClassName": f.string("priorityClassName"),
        "submittedBy": f.string("submittedBy"),
        "clusterId": f.string("clusterId"),
        "projectName": f.string("projectName"),
        "projectId": f.string("projectId"),
        "departmentName": f.string("departmentName"),
        "departmentId": f.string("departmentId"),
        "runningPods": f.int("runningPods"),
        "workloadRequestedResources": _requested_resources(f.obj("workloadRequestedResources")),
        "allocatedResources": _allocated_resources(f.obj("allocatedResources")),
        "phase": f.string("phase"),
    }
    # pointer fields with `omitempty`: absent when Run:ai sends null or nothing
    if isinstance(f.get("preemptible"), bool):
        body["preemptible"] = f.get("preemptible")
    body["requestedPods"] = {"count": f.obj("requestedPods").int("count")}
    if f.get("idleGpus") is not None:
        body["idleGpus"] = f.int("idleGpus")
    if f.get("idleAllocatedGpus") is not None:
        body["idleAllocatedGpus"] = f.float("idleAllocatedGpus")
    body["createdAt"] = f.time("createdAt")
    body["metrics"] = metrics
    return body


def pod_body(raw: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
    """The message body of one pod, fields in OpenMeter's order."""
    f = _Fields(raw)
    containers = f.get("containers")
    return {
        "resourceType": "pod",
        "name": f.string("name"),
        "id": f.string("id"),
        "priorityClassName": f.string("priorityClassName"),
        "workloadId": f.string("workloadId"),
        "clusterId": f.string("clusterId"),
        "projectId": f.nullable_string("projectId"),
        "nodeName": f.nullable_string("nodeName"),
        "createdAt": f.time("createdAt"),
        "completedAt": f.nullable_time("completedAt"),
        "containers": (
            [
                {
                    "name": c.string("name"),
                    "image": c.string("image"),
                    "startedAt": c.nullable_time("startedAt"),
                }
                for c in (_Fields(item) for item in containers)
            ]
            if isinstance(containers, list)
            else None
        ),
        "currentNodePool": f.nullable_string("currentNodePool"),
        # Run:ai sends `requestedNodePools` (a list); OpenMeter's singular field stays null then
        "requestedNodePool": f.nullable_string("requestedNodePool"),
        "requestedResources": _requested_resources(f.obj("requestedResources")),
        "allocatedResources": _allocated_resources(f.obj("allocatedResources")),
        "k8sPhase": f.string("k8sPhase"),
        "tenantId": f.int("tenantId"),
        "k8sPhaseUpdatedAt": f.time("k8sPhaseUpdatedAt"),
        "updatedAt": f.time("updatedAt"),
        "projectName": f.string("projectName"),
        "workloadName": f.string("workloadName"),
        "metrics": metrics,
    }


def encode_body(body: dict[str, Any]) -> bytes:
    """The body as Go's ``json.Marshal`` writes OpenMeter's struct: fields in struct order (not
    sorted, unlike a Bloblang object), Go number text, and ``<``, ``>``, ``&``, U+2028 and U+2029
    escaped."""
    out = orjson.dumps(_go_numbers(body))
    if b"<" in out or b">" in out or b"&" in out or b"\xe2\x80" in out:
        for raw, escaped in _GO_ESCAPES:
            out = out.replace(raw, escaped)
        return out
    # orjson's result keeps its whole output buffer (4 kB for a 1 kB body); a window of 10,000
    # workloads holds every body at once, so keep an exact-size copy instead
    return bytes(memoryview(out))


_GO_ESCAPES = (
    (b"<", b"\\u003c"),
    (b">", b"\\u003e"),
    (b"&", b"\\u0026"),
    ("\u2028".encode(), b"\\u2028"),
    ("\u2029".encode(), b"\\u2029"),
)


def _go_numbers(value: Any) -> Any:
    if type(value) is float:
        return orjson.Fragment(format_float_json(value))
    if isinstance(value, dict):
        return {k: _go_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_numbers(v) for v in value]
    return value
