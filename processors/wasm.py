"""The ``wasm`` processor: run a function exported by a WebAssembly module on each message.

Upstream (wazero) instantiates the module with WASI (``wasi_snapshot_preview1``, no stdio) and a
host module ``benthos_wasm`` offering four functions; the guest calls them from the exported
``function`` (default ``process``, no parameters, no results), once per message:

- ``v0_msg_as_bytes() -> i64`` and ``v0_msg_get_meta(key_ptr, key_len: i32) -> i64`` hand data
  to the guest: the host asks the guest for memory (its exported ``malloc``, or ``allocate`` when
  there is one), writes the bytes there and returns ``ptr << 32 | len``. Memory from ``malloc`` is
  handed back to the guest's ``free`` when the function returns. A missing key reads as "";
- ``v0_msg_set_bytes(ptr, len: i32)`` and ``v0_msg_set_meta(key_ptr, key_len, ptr, len: i32)``
  read the guest's bytes; after each read the host calls the guest's ``deallocate(ptr, len)`` if
  it exports one.

A host function that fails logs its error and the message leaves as it came, flagged with that
error. A trap in the guest stops the batch: every message of it is flagged with the trap's text.
Modules are pooled, one per concurrent batch, so a guest's globals outlive a message.

Here the engine is wasmtime (the ``wasmtime`` package, an optional extra: ``pip install
'benthic[wasm]'``), run in a worker thread. Where we differ:

- a guest is bounded: ``timeout`` (wall time of one message's call, by epoch interruption) and
  ``max_memory`` (its linear memory) stop a runaway module and fail its batch; upstream has
  neither bound;
- a module that does not export ``function`` fails when the processor is built (upstream fails
  on the first message);
- a trap reads as wazero's first line (``wasm error: unreachable``), without its stack trace.
"""

from __future__ import annotations

import asyncio
import math
import threading
from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, duration, integer, string

MODULE_PATH_FIELD = "module_path"
FUNCTION_FIELD = "function"

SPEC = ComponentSpec(
    "wasm",
    "processor",
    summary="Calls a function of a WebAssembly module once for every message, which reads and rewrites it through host functions.",
    description=(
        "The module (with WASI) reads and changes the message through the functions of the host "
        "module `benthos_wasm`: `v0_msg_as_bytes`, `v0_msg_set_bytes`, `v0_msg_get_meta` and "
        "`v0_msg_set_meta`. Data the host returns is written to memory the module allocates through "
        "its exported `malloc` (freed with `free`) or `allocate` (released with `deallocate`). "
        "benthic runs it on wasmtime and bounds its time and memory."
    ),
    categories=("Utility",),
    requires=("wasmtime", "wasm"),
    fields=[
        string(MODULE_PATH_FIELD, "Where the `.wasm` file is."),
        string(
            FUNCTION_FIELD,
            "Which exported function of the module is called for each message.",
            default="process",
        ),
        duration(
            "timeout",
            "benthic only: the time one message's call may take. A call past it fails its batch.",
            default="10s",
            advanced=True,
        ),
        integer(
            "max_memory",
            "benthic only: the bytes of linear memory a module may grow to. Growing past it fails.",
            default=256 * 1024 * 1024,
            advanced=True,
        ),
    ],
)


def _lint(conf: Any) -> list[str]:
    problems = []
    if conf["max_memory"] < 65536:
        problems.append("max_memory: must be at least 65536 (one WASM page)")
    if conf["timeout"] is not None and conf["timeout"] <= 0:
        problems.append("timeout: must be more than zero")
    return problems


SPEC.lint = _lint

# wasmtime's trap codes in wazero's words, the first line of upstream's error.
WAZERO_TRAPS = {
    "UNREACHABLE": "unreachable",
    "MEMORY_OUT_OF_BOUNDS": "out of bounds memory access",
    "STACK_OVERFLOW": "stack overflow",
    "INTEGER_DIVISION_BY_ZERO": "integer divide by zero",
    "INTEGER_OVERFLOW": "integer overflow",
    "BAD_CONVERSION_TO_INTEGER": "invalid conversion to integer",
    "TABLE_OUT_OF_BOUNDS": "invalid table access",
    "INDIRECT_CALL_TO_NULL": "invalid table access",
    "BAD_SIGNATURE": "indirect call type mismatch",
}

# The epoch ticks this often; a call's deadline is its timeout in ticks.
TICK = 0.05


def _wasmtime() -> Any:
    try:
        import wasmtime  # optional dependency: the "wasm" extra
    except ImportError:
        raise ValueError(
            "the wasm processor needs the wasmtime module: pip install 'benthic[wasm]'"
        ) from None
    return wasmtime


class _HostError(Exception):
    """A host function failed: the message is flagged, the guest carries on."""


class _Runner:
    """One instance of the module in its own store, and the message it is working on."""

    def __init__(self, proc: Wasm) -> None:
        wt = proc.wasmtime
        self.wt = wt
        self.proc = proc
        self.store = wt.Store(proc.engine)
        self.store.set_limits(memory_size=proc.max_memory)
        self.store.set_wasi(wt.WasiConfig())
        self.store.set_epoch_deadline(1 << 62)
        self.message: Message | None = None
        self.error: str | None = None
        self.to_free: list[int] = []
        linker = wt.Linker(proc.engine)
        linker.define_wasi()
        i32, i64 = wt.ValType.i32(), wt.ValType.i64()
        host = [
            ("v0_msg_set_bytes", [i32, i32], [], self._set_bytes),
            ("v0_msg_as_bytes", [], [i64], self._as_bytes),
            ("v0_msg_set_meta", [i32, i32, i32, i32], [], self._set_meta),
            ("v0_msg_get_meta", [i32, i32], [i64], self._get_meta),
        ]
        for name, params, results, func in host:
            linker.define_func("benthos_wasm", name, wt.FuncType(params, results), func, access_caller=True)
        try:
            self.instance = linker.instantiate(self.store, proc.module)
        except (wt.WasmtimeError, wt.Trap) as err:
            raise ValueError(f"instantiating wasm module: {err}") from None
        exports = self.instance.exports(self.store)
        self.process = exports.get(proc.function)
        if not isinstance(self.process, wt.Func):
            raise ValueError(f"function {proc.function!r} is not exported by the WASM module {proc.path}")
        self.memory = exports.get("memory")
        self.malloc, self.free = exports.get("malloc"), exports.get("free")
        self.allocate, self.deallocate = exports.get("allocate"), exports.get("deallocate")

    # -- host functions: a failure flags the message and logs, as upstream's funcErr ------------

    def _guarded(self, what: Any) -> Any:
        try:
            return what()
        except _HostError as err:
            self.error = str(err)
            self.proc.logger.error(self.error)
            return 0

    def _read(self, caller: Any, ptr: int, size: int, what: str) -> bytes:
        memory = caller["memory"] if self.memory is None else self.memory
        if memory is None or ptr + size > memory.data_len(caller):
            raise _HostError(f"reading out-bound {what}memory: prevented read")
        data = bytes(memory.read(caller, ptr, ptr + size))
        if self.deallocate is not None:
            self.deallocate(caller, ptr, size)
        return data

    def _write(self, caller: Any, data: bytes) -> int:
        alloc = self.allocate if self.allocate is not None else self.malloc
        if alloc is None:
            raise _HostError("allocating in-bound memory: the module exports neither malloc nor allocate")
        ptr = alloc(caller, len(data))
        if self.malloc is not None and self.free is not None and alloc is self.malloc:
            self.to_free.append(ptr)
        memory = caller["memory"] if self.memory is None else self.memory
        if memory is None or ptr + len(data) > memory.data_len(caller):
            raise _HostError("allocating in-bound memory: writing in-bound memory")
        memory.write(caller, data, ptr)
        return (ptr << 32) | len(data)

    def _target(self, action: str) -> Message:
        if self.message is None:
            raise _HostError(f"attempted to {action} deleted message")
        return self.message

    def _set_bytes(self, caller: Any, ptr: int, size: int) -> None:
        def run() -> None:
            msg = self._target("set bytes of")
            msg.content = self._read(caller, ptr, size, "")

        self._guarded(run)

    def _as_bytes(self, caller: Any) -> int:
        return int(self._guarded(lambda: self._write(caller, self._target("read bytes of").content)))

    def _set_meta(self, caller: Any, key_ptr: int, key_size: int, ptr: int, size: int) -> None:
        def run() -> None:
            msg = self._target("set metadata of")
            key = self._read(caller, key_ptr, key_size, "meta key ")
            value = self._read(caller, ptr, size, "meta value ")
            msg.metadata[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")

        self._guarded(run)

    def _get_meta(self, caller: Any, key_ptr: int, key_size: int) -> int:
        def run() -> int:
            msg = self._target("read meta of")
            key = self._read(caller, key_ptr, key_size, "meta key ").decode("utf-8", "replace")
            return self._write(caller, (msg.meta_str(key) or "").encode())

        return int(self._guarded(run))

    # -- one batch ------------------------------------------------------------------------------

    def run(self, batch: list[Message]) -> tuple[list[Message], str | None]:
        out: list[Message] = []
        for original in batch:
            self.message, self.error, self.to_free = original.copy(), None, []
            self.store.set_epoch_deadline(self.proc.deadline_ticks)
            try:
                self.process(self.store)
            except self.wt.Trap as err:
                return out, self._trap_text(err)
            except self.wt.WasmtimeError as err:
                return out, f"wasm error: {str(err).splitlines()[0]}"
            finally:
                self.store.set_epoch_deadline(1 << 62)
                for ptr in self.to_free:
                    try:
                        self.free(self.store, ptr)
                    except (self.wt.Trap, self.wt.WasmtimeError) as err:
                        self.error = f"freeing in-bound memory: {err}"
            if self.error is not None:
                failed = original.copy()
                failed.error = self.error
                out.append(failed)
            else:
                out.append(self.message)
        self.message = None
        return out, None

    def _trap_text(self, err: Any) -> str:
        code = getattr(err, "trap_code", None)
        if code == self.wt.TrapCode.INTERRUPT:
            return f"wasm: the module ran past its timeout of {self.proc.timeout:g}s"
        name = getattr(code, "name", None)
        if name in WAZERO_TRAPS:
            return f"wasm error: {WAZERO_TRAPS[name]}"
        # wasmtime's text is a backtrace first and the cause last
        lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
        return f"wasm error: {lines[-1].removeprefix('wasm trap: ') if lines else 'trap'}"


class Wasm:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        wt = self.wasmtime = _wasmtime()
        problems = _lint(conf)
        if problems:
            raise ValueError(problems[0])
        self.logger = res.logger
        self.path: str = conf[MODULE_PATH_FIELD]
        self.function: str = conf[FUNCTION_FIELD]
        self.timeout: float = conf["timeout"] or 10.0
        self.max_memory: int = conf["max_memory"]
        self.deadline_ticks = max(1, math.ceil(self.timeout / TICK))
        try:
            with open(self.path, "rb") as f:
                binary = f.read()
        except OSError as err:
            raise ValueError(f"open {self.path}: {(err.strerror or str(err)).lower()}") from None
        config = wt.Config()
        config.epoch_interruption = True
        self.engine = wt.Engine(config)
        try:
            self.module = wt.Module(self.engine, binary)
        except wt.WasmtimeError as err:
            raise ValueError(f"compiling wasm module {self.path}: {str(err).splitlines()[0]}") from None
        self.pool: list[_Runner] = [_Runner(self)]  # at least one instance, as upstream checks
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.ticker = threading.Thread(target=self._tick, name="wasm-epoch", daemon=True)
        self.ticker.start()

    def _tick(self) -> None:
        while not self.stop.wait(TICK):
            self.engine.increment_epoch()

    def _run(self, batch: list[Message]) -> list[Message]:
        with self.lock:
            runner = self.pool.pop() if self.pool else None
        if runner is None:
            runner = _Runner(self)
        try:
            out, error = runner.run(batch)
        finally:
            with self.lock:
                self.pool.append(runner)
        if error is not None:
            for msg in batch:
                msg.error = error
            return batch
        return out

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        return [await asyncio.to_thread(self._run, batch)]

    async def close(self) -> None:
        self.stop.set()


register_processor(SPEC, Wasm)
