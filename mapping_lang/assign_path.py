"""Writing a value at a ``root`` path, as upstream's ``JSONAssignment`` does through gabs.

Walking the path, an object gets missing (or null) fields created as objects; an array takes a
segment that is an index of an existing element, or ``-``, which appends: a new object when more
segments follow, the value itself when it is the last. ``-`` on an array root appends to the root.
Anything else on the way is a collision, reported with the first non-object prefix of the path
(arrays count as non-objects there, as upstream). Deleting never fails: a path that leads nowhere
deletes nothing, and an array element is removed by its index.
"""

from __future__ import annotations

from typing import Any

from mapping_lang.errors import EvalError
from mapping_lang.value import DELETED, NOTHING, type_name

_INT64 = 1 << 63


def go_atoi(text: str) -> int:
    """``strconv.Atoi`` on a 64-bit platform: optional sign, ASCII decimal digits."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not digits.isascii() or not digits.isdigit():
        raise ValueError(f'strconv.Atoi: parsing "{text}": invalid syntax')
    n = int(text)
    if not -_INT64 <= n < _INT64:
        raise ValueError(f'strconv.Atoi: parsing "{text}": value out of range')
    return n


class _Collision(Exception):
    pass


def _set(root: Any, value: Any, segments: list[str]) -> None:
    cur = root
    last = len(segments) - 1
    for i, seg in enumerate(segments):
        if type(cur) is dict:
            if i == last:
                cur[seg] = value
            else:
                nxt = cur.get(seg)
                if nxt is None:
                    nxt = cur[seg] = {}
                cur = nxt
        elif type(cur) is list:
            if seg == "-":
                nxt = value if i == last else {}
                cur.append(nxt)
                cur = nxt
                continue
            try:
                index = go_atoi(seg)
            except ValueError as err:
                raise EvalError(
                    f"failed to resolve path segment '{i}': found array but segment value '{seg}' "
                    f"could not be parsed into array index: {err}"
                ) from None
            if index < 0:
                raise EvalError(
                    f"failed to resolve path segment '{i}': found array but index '{seg}' is invalid"
                )
            if index >= len(cur):
                raise EvalError(
                    f"failed to resolve path segment '{i}': found array but index '{seg}' exceeded "
                    f"target array size of '{len(cur)}'"
                )
            if i == last:
                cur[index] = value
            else:
                nxt = cur[index]
                if nxt is None:
                    raise EvalError(f"failed to resolve path segment '{i}': field '{seg}' was not found")
                cur = nxt
        else:
            raise _Collision


def _search(cur: Any, seg: str) -> Any:
    if type(cur) is dict:
        return cur.get(seg)
    if type(cur) is list:
        try:
            index = go_atoi(seg)
        except ValueError:
            return cur  # upstream fans out over the elements: the result is an array again
        return cur[index] if 0 <= index < len(cur) else None
    return None


def _culprit(root: Any, segments: list[str]) -> tuple[str, str]:
    if type(root) is not dict:
        return "", type_name(root)
    cur = root
    for i, seg in enumerate(segments):
        cur = _search(cur, seg)
        if type(cur) is not dict:
            return ".".join(segments[: i + 1]), type_name(cur)
    return ".".join(segments), type_name(cur)


def _delete(root: Any, segments: list[str]) -> None:
    cur = root
    for seg in segments[:-1]:
        if type(cur) is dict:
            cur = cur.get(seg)
        elif type(cur) is list:
            try:
                index = go_atoi(seg)
            except ValueError:
                return
            if not 0 <= index < len(cur):
                return
            cur = cur[index]
        else:
            return
    target = segments[-1]
    if type(cur) is dict:
        cur.pop(target, None)
    elif type(cur) is list and len(segments) > 1:
        try:
            index = go_atoi(target)
        except ValueError:
            return
        if 0 <= index < len(cur):
            del cur[index]


def assign(root: Any, value: Any, segments: list[str]) -> Any:
    """The new root after writing ``value`` (or deleting, for ``DELETED``) at ``segments``."""
    if root is NOTHING or root is None or root is DELETED:
        root = {}
    if value is DELETED:
        _delete(root, segments)
        return root
    path = segments
    if segments[0] == "-" and type(root) is list:
        path = [str(len(root)), *segments[1:]]
        root.append({})
    try:
        _set(root, value, path)
    except _Collision:
        culprit, kind = _culprit(root, segments)
        text = ".".join(segments)
        if not culprit:
            raise EvalError(
                f"unable to set target path {text} as the value of the root was a non-object type ({kind})"
            ) from None
        raise EvalError(
            f"unable to set target path {text} as the value of {culprit} was a non-object type ({kind})"
        ) from None
    except EvalError as err:
        raise EvalError(f"unable to set target path {'.'.join(segments)}: {err.message}") from None
    return root
