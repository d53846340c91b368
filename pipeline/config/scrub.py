"""Secrets hidden from what benthic shows of a config: ``echo``, the debug endpoints, the streams API.

Upstream replaces the value of every field its specs mark secret with ``!!!SECRET_SCRUBBED!!!``.
We do that, and also apply the rules of ``pipeline.redact`` to the rest of the tree, so that
secrets in places no spec marks (header values, URL passwords and tokens) are hidden too.
``secret_values`` lists the secrets themselves, for the logger to mask wherever they appear.
"""

from __future__ import annotations

import copy
from typing import Any

import pipeline.spec as s
from pipeline.config.root import ROOT_SPEC, component_type
from pipeline.redact import is_sensitive_name, redact_text, url_secrets
from pipeline.registry import REGISTRY
from pipeline.spec import Field


def scrub_secrets(data: Any) -> Any:
    """A copy of a config with its secrets hidden (for ``echo``, the debug endpoints and the
    streams API): every field marked secret, every value under a sensitive key in a map or a
    free-form field (``headers: {Authorization: ...}``), the credentials of every URL, and any
    of those secrets repeated elsewhere (in a ``log`` message, say)."""
    scrubbed = _scrub_by_rule(data)
    secrets = sorted(set(_found_secrets(data, scrubbed)), key=len, reverse=True)
    return _mask_values(scrubbed, secrets) if secrets else scrubbed


def _mask_values(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, s.SECRET_MASK)
        return value
    if isinstance(value, dict):
        return {k: _mask_values(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_values(v, secrets) for v in value]
    return value


def _scrub_by_rule(data: Any) -> Any:
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
        if registration.spec.root is not None:
            conf[key] = _scrub_free(conf.get(key)) if registration.spec.root.type == "any" else conf.get(key)
        else:
            visit_fields(registration.spec.fields, conf.get(key))
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
            elif f.kind == "map" or f.type == "any":
                body[f.name] = _scrub_free(value)

    if isinstance(out, dict):
        visit_fields(ROOT_SPEC.fields, out)
    return _redact_urls(out)


def _scrub_free(value: Any) -> Any:
    """A value no spec describes field by field (a header map, an ``any`` field): a string under
    a key that names a credential is masked, at any depth."""
    if isinstance(value, dict):
        return {
            k: (
                s.SECRET_MASK
                if isinstance(k, str)
                and is_sensitive_name(k)
                and isinstance(v, (str, int, float))
                and v != ""
                else _scrub_free(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_scrub_free(v) for v in value]
    return value


def _redact_urls(value: Any) -> Any:
    """Every string of the tree with the credentials of the URLs in it masked."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_urls(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_urls(v) for v in value]
    return value


def secret_values(data: Any) -> list[str]:
    """Every secret value in a config (the logger masks them wherever they appear)."""
    return _found_secrets(data, _scrub_by_rule(data))


def _found_secrets(data: Any, scrubbed: Any) -> list[str]:
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
            scheme, space, credential = str(a).strip().partition(" ")
            if space and scheme.isalpha():  # "Bearer <token>": the token may be logged alone
                found.append(credential.strip())
        elif isinstance(a, str) and a != b:
            found.extend(url_secrets(a))

    diff(data, scrubbed)
    return [v for v in found if len(v) >= 4]
