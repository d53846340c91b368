"""The ``ffi`` processor: call a C function of a shared library once for every message.

Upstream (``internal/impl/ffi``, on purego) opens ``library_path`` with ``dlopen``
(``RTLD_GLOBAL | RTLD_LAZY``) and looks ``function_name`` up when the processor is built; a
library or symbol that cannot be found stops the build with ``dlerror``'s text. For each message
``args_mapping`` gives the arguments as an array, converted by the declared ``signature``:

- ``int32`` / ``int64``: a number (an integer, a float truncated towards zero, a JSON number);
  an ``int32`` takes the low 32 bits of the 64-bit value, as Go's conversion does;
- ``byte*``: a string or bytes (a timestamp as its RFC 3339 text), handed over as a pointer to a
  copy that lives for the call only; an ``out`` one is read back after the call.

The message becomes an array: the return value first (unless ``void``), then each ``out``
parameter's bytes, in parameter order. A wrong number of arguments or an argument of the wrong
type flags that message and leaves it as it came; a mapping that fails, or that gives something
other than an array, flags the whole batch. The library is closed with the processor.

Here the call goes through ``ctypes`` (its foreign calls release the GIL) in a worker thread, so
a slow or blocking function never stalls the event loop. Where we differ:

- the library is opened with ``RTLD_NOW`` (``ctypes`` adds it): a library whose own undefined
  symbols cannot be resolved fails when the processor is built, not on the first call of them;
- a ``byte*`` copy carries one extra zero byte past its end, so a C function that reads it as a
  NUL-terminated string stays inside it (upstream's Go slice has no such byte);
- an ``args_mapping`` that deletes the message flags the batch (upstream dereferences a nil
  message and panics).
"""

from __future__ import annotations

import _ctypes
import ctypes
import math
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from mapping_lang.errors import TypeMismatch
from mapping_lang.gofmt import go_quote, go_type
from mapping_lang.value import JsonNumber, format_timestamp
from pipeline import spec as s
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.resources import Resources
from pipeline.workers import run_off_loop

LIBRARY_PATH_FIELD = "library_path"
FUNCTION_NAME_FIELD = "function_name"
ARGS_MAPPING_FIELD = "args_mapping"
SIGNATURE_FIELD = "signature"

# The C types of results and parameters, by the names upstream's signature uses.
RETURN_TYPES: dict[str, Any] = {"void": None, "int32": ctypes.c_int32, "int64": ctypes.c_int64}
PARAM_TYPES: dict[str, Any] = {"byte*": ctypes.c_void_p, "int32": ctypes.c_int32, "int64": ctypes.c_int64}

SPEC = s.ComponentSpec(
    "ffi",
    "processor",
    summary="Calls a C function of a shared library for every message, and replaces the message with what it returned.",
    description=(
        "The library (`.so`, `.dylib` or `.dll`) is loaded when the processor starts. For each "
        "message `args_mapping` builds the arguments as an array, converted to the C types that "
        "`signature` declares. The message becomes an array holding the function's result "
        "(unless it returns `void`), followed by the bytes of each `out` parameter in order. A "
        "message whose arguments do not fit the signature keeps its payload and carries the error."
    ),
    fields=[
        s.string(
            LIBRARY_PATH_FIELD,
            "Where the shared library is. A bare file name is searched for the way the system's "
            "dynamic loader searches (`LD_LIBRARY_PATH`, the cache, the default folders).",
            examples=("libbar.6.so", "libfoo.dylib"),
        ),
        s.string(
            FUNCTION_NAME_FIELD,
            "The name of the exported C function to call.",
            examples=("MyExternCFunction",),
        ),
        s.bloblang(
            ARGS_MAPPING_FIELD,
            "A mapping whose result is the array of arguments, one per parameter of the signature.",
            examples=("root = [42, now().ts_unix_nano(), content()]",),
        ),
        s.obj(
            SIGNATURE_FIELD,
            [
                s.obj(
                    "return",
                    [
                        s.enum(
                            "type",
                            tuple(RETURN_TYPES),
                            "What the function returns: `void` (nothing), `int32` (`int32_t`) or "
                            "`int64` (`int64_t`).",
                        )
                    ],
                    "The function's result.",
                ),
                s.obj_list(
                    "parameters",
                    [
                        s.enum(
                            "type",
                            tuple(PARAM_TYPES),
                            "The parameter's C type: `int32` (`int32_t`), `int64` (`int64_t`) or "
                            "`byte*` (a `void*` to a copy of a string or bytes argument, valid "
                            "during the call only).",
                        ),
                        s.boolean(
                            "out",
                            "Whether the function writes into this parameter, whose bytes are then "
                            "part of the result. Only a pointer (`byte*`) can be one.",
                            default=False,
                        ),
                    ],
                    "The function's parameters, in order.",
                ),
            ],
            "The C signature of the function.",
        ),
    ],
    examples=[
        (
            "Compare bytes with libc's memcmp",
            "pipeline:\n  processors:\n    - ffi:\n        library_path: libc.so.6\n"
            "        function_name: memcmp\n"
            '        args_mapping: \'root = ["foo", "bar", 3]\'\n'
            "        signature:\n          return:\n            type: int32\n"
            "          parameters:\n            - type: byte*\n            - type: byte*\n"
            "            - type: int64\n",
        ),
    ],
)


def _out_problem(param_type: str) -> str:
    return f"unsupported out parameter type, only pointers may be out parameters: {go_quote(param_type)}"


def _lint(conf: Any) -> list[str]:
    params = ((conf.get(SIGNATURE_FIELD) or {}).get("parameters")) or []
    return [_out_problem(p["type"]) for p in params if p.get("out") and not str(p.get("type")).endswith("*")]


SPEC.lint = _lint


class FFIError(ValueError):
    """A message's arguments do not fit the signature: that message is flagged."""


# -- arguments: Bloblang values as upstream's ValueAsInt64 / ValueAsBytes read them ------------


def _wrap(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _float_to_int64(value: float) -> int:
    # Go's int64(f) truncates; out of range (or NaN) it gives the minimum, as on amd64
    if math.isnan(value) or not -(2.0**63) <= value < 2.0**63:
        return -(1 << 63)
    return int(value)


def _as_int64(value: Any) -> int:
    if type(value) is JsonNumber:
        try:
            number = int(value.lexeme)
        except ValueError:
            return _float_to_int64(float(value))
        return number if -(1 << 63) <= number < 1 << 63 else _float_to_int64(float(value))
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FFIError(TypeMismatch("number", value).render(None))
    if isinstance(value, float):
        return _float_to_int64(value)
    return _wrap(value, 64)


def _as_int32(value: Any) -> int:
    return _wrap(_as_int64(value), 32)


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, datetime):
        return format_timestamp(value).encode()
    raise FFIError(TypeMismatch("bytes", value).render(None))


# ctypes opens libraries but does not re-export the call that closes them
if sys.platform == "win32":
    CLOSE_LIBRARY: Callable[[int], Any] = _ctypes.FreeLibrary
else:
    CLOSE_LIBRARY = _ctypes.dlclose

CONVERTERS: dict[str, Callable[[Any], Any]] = {"int32": _as_int32, "int64": _as_int64, "byte*": _as_bytes}


# -- the processor ---------------------------------------------------------------------------------


class FFIProcessor:
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        signature = conf[SIGNATURE_FIELD]
        return_type = signature["return"]["type"]
        if return_type not in RETURN_TYPES:
            raise ValueError(f"invalid return type {go_quote(return_type)}")
        self.returns_value = RETURN_TYPES[return_type] is not None
        self.param_types: list[str] = []
        self.out_params: list[bool] = []
        for param in signature["parameters"]:
            if param["type"] not in PARAM_TYPES:
                raise ValueError(f"invalid parameter type {go_quote(param['type'])}")
            if param["out"] and not param["type"].endswith("*"):
                raise ValueError(_out_problem(param["type"]))
            self.param_types.append(param["type"])
            self.out_params.append(param["out"])
        self.args_mapping = res.mapping(conf[ARGS_MAPPING_FIELD])
        # the mapping runs one message at a time (its state is shared); the calls do not wait on it
        self._mapping_lock = threading.Lock()
        self._in_flight = 0
        self._lock = threading.Lock()
        self._closed = False

        path, name = conf[LIBRARY_PATH_FIELD], conf[FUNCTION_NAME_FIELD]
        self.library: ctypes.CDLL | None = None
        try:
            self.library = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        except OSError as err:  # dlerror's text, as upstream reports it
            raise ValueError(str(err)) from None
        try:
            function = self.library[name]
        except AttributeError as err:
            self._unload()
            raise ValueError(f"unable to find symbol {go_quote(name)}: {err}") from None
        function.restype = RETURN_TYPES[return_type]
        function.argtypes = [PARAM_TYPES[t] for t in self.param_types]
        self.function = function

    def _arguments(self, batch: list[Message], index: int) -> list[Any]:
        with self._mapping_lock:
            try:
                result = self.args_mapping.map_message(batch[index], batch, index)
            except Exception as err:
                raise ValueError(f"executing `args_mapping` bloblang: {err}") from None
        if result is None:
            raise ValueError("executing `args_mapping` bloblang: the mapping deleted the message")
        try:
            args = result.structured()
        except ValueError as err:
            raise ValueError(f"extracting structured result from `args_mapping` bloblang: {err}") from None
        if not isinstance(args, list):
            raise ValueError(
                "extracting structured result from `args_mapping` bloblang: "
                f"expected type []any, got {go_type(args)}"
            )
        return args

    def _call(self, args: list[Any]) -> list[Any]:
        if len(args) != len(self.param_types):
            raise FFIError(f"expected {len(self.param_types)} args, got {len(args)}")
        c_args: list[Any] = []
        outs: list[tuple[Any, int]] = []
        for param_type, is_out, arg in zip(self.param_types, self.out_params, args, strict=True):
            value = CONVERTERS[param_type](arg)
            if param_type == "byte*":
                # a copy the function may write into, with a zero byte past its end
                value = ctypes.create_string_buffer(value, len(value) + 1)
                if is_out:
                    outs.append((value, len(value) - 1))
            c_args.append(value)
        result = self.function(*c_args)
        values: list[Any] = [result] if self.returns_value else []
        values.extend(buffer.raw[:size] for buffer, size in outs)
        return values

    def _process(self, batch: list[Message]) -> list[Message]:
        with self._lock:
            if self._closed:
                raise ValueError("the ffi processor is closed")
            self._in_flight += 1
        try:
            out: list[Message] = []
            for index, msg in enumerate(batch):
                args = self._arguments(batch, index)
                result = msg.copy()
                try:
                    result.set_structured(self._call(args))
                except FFIError as err:
                    result.error = str(err)
                out.append(result)
            return out
        finally:
            with self._lock:
                self._in_flight -= 1
                if self._closed and self._in_flight == 0:
                    self._unload()

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        # a foreign function may compute or block for as long as it likes: never on the loop
        return [await run_off_loop(self._process, batch)]

    def _unload(self) -> None:
        library, self.library = self.library, None
        if library is not None:
            CLOSE_LIBRARY(library._handle)

    async def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._in_flight == 0:  # else the last call in flight closes it
                self._unload()


register_processor(SPEC, FFIProcessor)
