"""Secrets hidden from what benthic shows of a config: ``echo``, the debug endpoints, the streams API.

Upstream replaces the value of every field its specs mark secret with ``!!!SECRET_SCRUBBED!!!``.
We do that, and also apply the rules of ``pipeline.redact`` to the rest of the tree, so that
secrets in places no spec marks (header values, URL passwords and tokens) are hidden too.
``secret_values`` lists the secrets themselves, for the logger to mask wherever they appear.
"""

from __future__ import annotations

import copy
from typing import Any

from pipeline import spec as s
from pipeline.config.root import RESOURCE_SECTIONS, component_type
from pipeline.registry import REGISTRY
from pipeline.spec import Field


def scrub_secrets(data: Any) -> Any:
    """A copy of a config with every secret field's value replaced by a mask (for ``echo``)."""
    out = copy.deepcopy(data)

    def visit_component(kind: str, conf: Any) -> None:
        if not isinstance(conf, dict):
            return
        type_name, error = component_type(kind, conf)
        if error or type_name in (None, "resource"):
            return
        registration = REGISTRY.get(kind, type_name)
        if registration is None:
            return
        key = type_name if type_name in conf else "plugin"
        body = conf.get(key)
        visit_fields(registration.spec.fields, body)
        if kind in ("input", "output"):
            for proc in conf.get("processors") or []:
                visit_component("processor", proc)

    def visit_fields(fields: list[Field], body: Any) -> None:
        if not isinstance(body, dict):
            return
        for f in fields:
            if f.name not in body:
                continue
            value = body[f.name]
            if f.secret and value not in (None, ""):
                body[f.name] = s.SECRET_MASK
            elif f.type in s.COMPONENT_TYPES:
                items = (
                    value
                    if f.kind == "list"
                    else (list(value.values()) if f.kind == "map" and isinstance(value, dict) else [value])
                )
                for item in items or []:
                    visit_component(f.type, item)
            elif f.type == "object" and f.children:
                if f.kind == "list":
                    for item in value or []:
                        visit_fields(f.children, item)
                else:
                    visit_fields(f.children, value)

    if isinstance(out, dict):
        for name in ("input", "buffer", "output"):
            if name in out:
                visit_component(name, out[name])
        for proc in (out.get("pipeline") or {}).get("processors") or []:
            visit_component("processor", proc)
        for key, kind in RESOURCE_SECTIONS:
            for res in out.get(key) or []:
                visit_component(kind, res)
        http = out.get("http")
        if isinstance(http, dict) and isinstance(http.get("basic_auth"), dict):
            for key in ("password_hash", "salt"):
                if http["basic_auth"].get(key):
                    http["basic_auth"][key] = s.SECRET_MASK
    return out


def secret_values(data: Any) -> list[str]:
    """Every secret value in a config (the logger redacts them wherever they appear)."""
    scrubbed = scrub_secrets(data)
    found: list[str] = []

    def diff(a: Any, b: Any) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for k in a:
                diff(a[k], b.get(k))
        elif isinstance(a, list) and isinstance(b, list):
            for x, y in zip(a, b, strict=False):
                diff(x, y)
        elif b == s.SECRET_MASK and isinstance(a, (str, int, float)) and str(a):
            found.append(str(a))

    diff(data, scrubbed)
    return [v for v in found if len(v) >= 4]
