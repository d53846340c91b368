"""The ``javascript`` processor: run a JavaScript program on each message.

Upstream runs the program (``code``, or the contents of ``file``) on goja for every message of a
batch, in turn. The program reaches the message through the global ``benthos`` object
(``v0_msg_as_string``, ``v0_msg_set_string``, ``v0_msg_as_structured``, ``v0_msg_set_structured``,
``v0_msg_exists_meta``, ``v0_msg_get_meta``, ``v0_msg_set_meta`` and ``v0_fetch``, a synchronous
HTTP request), logs with ``console`` and loads modules with Node's ``require`` (relative paths,
``node_modules`` folders and ``global_folders``). A value the program throws and does not catch
stops the batch: every message of it is flagged with the error's text, and the messages after
the failing one are left as they came. Nothing deletes a message.

Here the engine is QuickJS (the ``quickjs`` module of the ``quickjs-ng`` package, an optional
extra: ``pip install 'benthic[javascript]'``), run in a worker thread. Where we differ:

- each message runs in a new context, so nothing a program leaves in the global scope reaches
  the next message (upstream reuses pooled runtimes, whose globals outlive a message, so that a
  top-level ``let`` fails the second time);
- a program is bounded: ``timeout`` (CPU time, default 10s) and ``max_memory`` (default 256 MiB)
  stop a runaway program and fail its batch; each ``v0_fetch`` request has ``timeout`` as its
  deadline too. Upstream has neither bound;
- QuickJS cannot call into Python while a time limit is set, so the message API is JavaScript
  over a copy of the message (``javascript_runtime.js``). What only Python can answer (a
  ``v0_fetch`` response, a payload parsed as JSON, a module's source) is asked for by abandoning
  the run; the answer is fetched, and the program runs again from the start with it. A program
  therefore runs as often as it has such questions on a message, and what it logs on the
  abandoned runs is dropped;
- an error's position is ``file:line:column`` without goja's bytecode offset, and a thrown
  value that is not an ``Error`` (a string) has no position.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

from mapping_lang.value import parse_json, to_text
from pipeline.errors import NoResponseError, RequestBuildError
from pipeline.http.client import HTTPClient, build_request
from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, duration, integer, string, string_list

CODE_FIELD = "code"
FILE_FIELD = "file"
GLOBAL_FOLDERS_FIELD = "global_folders"

SPEC = ComponentSpec(
    "javascript",
    "processor",
    summary="Runs a JavaScript program, inline or from a file, on each message.",
    description=(
        "The program reads and changes the message through the global `benthos` object and can "
        "log with `console` and load modules with `require`. benthic runs it on QuickJS (ES2023) "
        "with a new global scope for every message, and bounds its CPU time and memory."
    ),
    categories=("Mapping",),
    requires=("quickjs", "javascript"),
    fields=[
        string(
            CODE_FIELD,
            "The program to run, inline. Give either this or `file`.",
            optional=True,
            examples=('benthos.v0_msg_set_string(benthos.v0_msg_as_string() + "!");',),
        ),
        string(FILE_FIELD, "A file holding the program to run. Give either this or `code`.", optional=True),
        string_list(
            GLOBAL_FOLDERS_FIELD,
            "Folders searched for a module that `require` finds nowhere else.",
            default=[],
        ),
        duration(
            "timeout",
            "benthic only: the CPU time one message's run may take, and the deadline of each "
            "`v0_fetch` request. A run past it fails its batch.",
            default="10s",
            advanced=True,
        ),
        integer(
            "max_memory",
            "benthic only: the memory in bytes one message's run may allocate. A run past it fails its batch.",
            default=256 * 1024 * 1024,
            advanced=True,
        ),
    ],
    examples=[
        (
            "Append to the payload",
            "pipeline:\n  processors:\n    - javascript:\n"
            "        code: 'benthos.v0_msg_set_string(benthos.v0_msg_as_string() + \"hello world\");'\n",
        ),
        (
            "Change a structured payload",
            "pipeline:\n  processors:\n    - javascript:\n        code: |\n          (() => {\n"
            "            let doc = benthos.v0_msg_as_structured();\n"
            "            doc.key_count = Object.keys(doc).length;\n"
            "            benthos.v0_msg_set_structured(doc);\n          })();\n",
        ),
    ],
)


def _lint(conf: Any) -> list[str]:
    code = conf.get(CODE_FIELD) or ""
    file = conf.get(FILE_FIELD) or ""
    if not code and not file:
        return ["either the code or file field must be specified"]
    if code and file:
        return ["cannot specify both the code and file fields"]
    problems = []
    if conf["max_memory"] < 1024 * 1024:
        problems.append("max_memory: must be at least 1048576 (1 MiB)")
    if conf["timeout"] is not None and conf["timeout"] <= 0:
        problems.append("timeout: must be more than zero")
    return problems


SPEC.lint = _lint

# How many answers (responses, parses, modules) one message's runs may ask for.
MAX_ANSWERS = 256
RUNTIME_JS = resources.files("processors").joinpath("javascript_runtime.js").read_text("utf-8")


def _quickjs() -> Any:
    try:
        import quickjs  # optional dependency: the "javascript" extra
    except ImportError:
        raise ValueError(
            "the javascript processor needs the quickjs module: pip install 'benthic[javascript]'"
        ) from None
    return quickjs


# -- require(): Node's module resolution, as goja_nodejs does it ----------------------------------


def _is_path(name: str) -> bool:
    return name in (".", "..") or name.startswith(("/", "./", "../"))


def _join(base: str, name: str) -> str:
    path = os.path.normpath(os.path.join(base, name))
    return os.path.realpath(path) if os.path.exists(path) else path


@dataclass
class _Module:
    slot: int
    source: str
    is_json: bool

    def describe(self, path: str) -> dict[str, Any]:
        return {"slot": self.slot, "json": self.is_json, "dir": os.path.dirname(path) or "."}


class _Modules:
    """The modules ``require`` has found, shared by every message (sources are read once)."""

    def __init__(self, global_folders: list[str]) -> None:
        self.global_folders = global_folders
        self.resolved: dict[str, str | None] = {}
        self.modules: dict[str, _Module] = {}

    def resolve(self, folder: str, name: str) -> None:
        path = self._resolve(folder, name)
        self.resolved[folder + "\0" + name] = path

    def _resolve(self, folder: str, name: str) -> str | None:
        if _is_path(name):
            return self._file_or_directory(_join(folder, name))
        for base in self.global_folders:
            if found := self._file_or_directory(_join(base, name)):
                return found
        start = folder
        while True:
            modules = (
                start if os.path.basename(start) == "node_modules" else os.path.join(start, "node_modules")
            )
            if found := self._file_or_directory(_join(modules, name)):
                return found
            parent = os.path.dirname(start) or "."
            if start == ".." or parent == start:
                return None
            start = parent

    def _file_or_directory(self, path: str) -> str | None:
        return self._file(path) or self._directory(path)

    def _file(self, path: str) -> str | None:
        for candidate in (path, path + ".js", path + ".json"):
            if self._load(candidate):
                return candidate
        return None

    def _directory(self, path: str) -> str | None:
        try:
            with open(os.path.join(path, "package.json"), "rb") as f:
                main = json.load(f).get("main")
        except (OSError, ValueError, AttributeError):
            main = None
        if isinstance(main, str) and main:
            target = _join(path, main)
            return self._file(target) or self._index(target)
        return self._index(path)

    def _index(self, path: str) -> str | None:
        for candidate in (_join(path, "index.js"), _join(path, "index.json")):
            if self._load(candidate):
                return candidate
        return None

    def _load(self, path: str) -> bool:
        if path in self.modules:
            return True
        if not os.path.isfile(path):
            return False
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                source = f.read()
        except OSError:
            return False
        self.modules[path] = _Module(len(self.modules), source, path.endswith(".json"))
        return True


# -- one message ---------------------------------------------------------------------------------


def _utf8(text: str) -> bytes:
    """A JavaScript string as UTF-8; a lone surrogate becomes U+FFFD, as goja writes it."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode("utf-8")


class _Answers:
    """What Python answered for one message's runs so far, handed to each new run."""

    def __init__(self) -> None:
        self.fetches: list[dict[str, Any]] = []
        self.parses: list[list[Any]] = []
        self.count = 0

    def add_parse(self, text: str, document: str | None = None, raw: bytes | None = None) -> None:
        """The answer to parsing ``text`` as JSON: Go's error text, or the JSON document that
        JavaScript's ``JSON.parse`` then reads (``text`` itself once it parsed, unless given).
        ``raw`` is the payload ``text`` was decoded from: Go's error shows its bytes."""
        if document is None:
            try:
                parse_json(_utf8(text) if raw is None else raw)
            except ValueError as err:
                self.parses.append([text, False, str(err)])
                return
            document = text
        self.parses.append([text, True, document])


class _Limit(Exception):
    """A run went past ``timeout`` or ``max_memory``."""


class JavaScript:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.quickjs = _quickjs()
        self.logger = res.logger
        code = conf.get(CODE_FIELD) or ""
        file = conf.get(FILE_FIELD) or ""
        problems = _lint(conf)
        if problems:
            raise ValueError(problems[0])
        self.filename = "main.js"
        if file:
            try:
                with open(file, encoding="utf-8", errors="replace") as f:
                    code = f.read()
            except OSError as err:
                raise ValueError(
                    f"opening target file: open {file}: {(err.strerror or str(err)).lower()}"
                ) from None
            self.filename = file
        self.source = code
        self.folder = os.path.dirname(self.filename) or "."
        self.timeout: float = conf["timeout"] or 10.0
        self.max_memory: int = conf["max_memory"]
        self.uses_structured = "v0_msg_as_structured" in code
        self.modules = _Modules(list(conf[GLOBAL_FOLDERS_FIELD]))
        self.http: HTTPClient | None = None
        self._check_syntax()

    def _check_syntax(self) -> None:
        """Compile the program once, as upstream does when it builds the processor."""
        ctx = self.quickjs.Context()
        ctx.set_memory_limit(self.max_memory)
        ctx.set_time_limit(self.timeout)
        ctx.set("__benthic_source", self.source)
        problem = ctx.eval(
            "(function () { try { new Function(__benthic_source); return ''; } catch (err) {"
            " var m = /<input>:(\\d+):(\\d+)/.exec(err.stack || '');"
            " return String(err) + (m ? ' at ' + (m[1] - 2) + ':' + m[2] : ''); } })()"
        )
        if problem:
            where = problem.rsplit(" at ", 1)
            if len(where) == 2:
                problem = f"{where[0]} ({self.filename}:{where[1]})"
            raise ValueError(f"compiling javascript code: {problem}")

    # -- running ---------------------------------------------------------------------------------

    def _evaluate(self, input_json: str, budget: float) -> tuple[dict[str, Any], float]:
        """One run in a new context, in a worker thread: its result and the CPU time it took."""
        started = time.thread_time()
        ctx = self.quickjs.Context()
        ctx.set_memory_limit(self.max_memory)
        ctx.set("__benthic_input", input_json)
        ctx.set("__benthic_source", self.source)
        for module in list(self.modules.modules.values()):
            ctx.set(f"__benthic_module_{module.slot}", module.source)
        try:
            ctx.eval(RUNTIME_JS)
            ctx.set_time_limit(max(budget, 0.001))
            out = ctx.eval("__benthic_run()")
        except self.quickjs.JSException as err:
            text = str(err)
            if text.startswith("InternalError: interrupted"):
                raise _Limit(f"javascript: the program ran past its timeout of {self.timeout:g}s") from None
            if "out of memory" in text or text.startswith("null"):
                raise _Limit(
                    f"javascript: the program went past its memory limit of {self.max_memory} bytes"
                ) from None
            raise _Limit(f"javascript: {text.splitlines()[0] if text else 'the run failed'}") from None
        except MemoryError:
            raise _Limit(
                f"javascript: the program went past its memory limit of {self.max_memory} bytes"
            ) from None
        result = json.loads(out)
        if result["outOfMemory"]:
            raise _Limit(f"javascript: the program went past its memory limit of {self.max_memory} bytes")
        return result, time.thread_time() - started

    async def _run(self, msg: Message) -> str | None:
        """Run the program on ``msg`` until it needs no more answers; its error text, if any."""
        content = msg.content.decode("utf-8", "replace")
        meta = {key: to_text(value) for key, value in msg.metadata.items()}
        answers = _Answers()
        if self.uses_structured:
            # a payload the pipeline already holds parsed needs no second parse (its bytes are
            # its JSON, but for a bare string, which the bytes hold without quotes)
            document = None
            if msg.has_structured():
                value = msg.structured()
                document = json.dumps(value) if isinstance(value, str) else content
            answers.add_parse(content, document, msg.content)
        budget = self.timeout
        while True:
            modules = self.modules
            input_json = json.dumps(
                {
                    "content": content,
                    "meta": meta,
                    "parses": answers.parses,
                    "fetches": answers.fetches,
                    "resolved": modules.resolved,
                    "modules": {path: m.describe(path) for path, m in modules.modules.items()},
                    "folder": self.folder,
                    "filename": self.filename,
                }
            )
            try:
                result, spent = await asyncio.to_thread(self._evaluate, input_json, budget)
            except _Limit as limit:
                return str(limit)
            budget -= spent
            needed = result["need"]
            if needed is None:
                return self._apply(msg, result)
            answers.count += 1
            if answers.count > MAX_ANSWERS:
                return (
                    f"javascript: the program asked for more than {MAX_ANSWERS} fetches, parses and modules"
                )
            if budget <= 0:
                return f"javascript: the program ran past its timeout of {self.timeout:g}s"
            await self._answer(needed, answers)

    async def _answer(self, needed: dict[str, Any], answers: _Answers) -> None:
        kind = needed["kind"]
        if kind == "parse":
            answers.add_parse(needed["text"])
        elif kind == "require":
            # once per module and processor: read on the loop, so no thread changes the tables
            self.modules.resolve(needed["folder"], needed["name"])
        elif kind == "fetch":
            del answers.fetches[needed["index"] :]
            answers.fetches.append(await self._fetch(needed["request"]))

    async def _fetch(self, request: dict[str, Any]) -> dict[str, Any]:
        """``v0_fetch``: one request as Go's default client sends it; any status is an answer."""
        if self.http is None:
            self.http = HTTPClient(timeout=self.timeout, go_headers=True)
        body = _utf8(request["body"]) if request["body"] else None
        try:
            built = build_request(request["method"] or "GET", request["url"], request["headers"], body)
        except RequestBuildError as err:
            return {"request": request, "error": str(err)}
        exchange = await self.http.send(built)
        if exchange.error is not None:
            error = exchange.error
            text = error.url_error if isinstance(error, NoResponseError) else str(error)
            return {"request": request, "error": text}
        return {
            "request": request,
            "status": exchange.status,
            "body": exchange.body.decode("utf-8", "replace"),
        }

    def _apply(self, msg: Message, result: dict[str, Any]) -> str | None:
        """Write what the run changed onto the message (also when it failed, as upstream, whose
        program changes the message in place), and log what it logged."""
        body = result["body"]
        if body is not None:
            if "text" in body:
                msg.content = _utf8(body["text"])
            else:
                msg.set_structured(parse_json(body["json"]))
        for key, value in result["meta"].items():
            msg.metadata[key] = parse_json(value)
        for level, text in result["logs"]:
            getattr(self.logger, level)(text)
        return result["error"] or None

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        for msg in batch:
            error = await self._run(msg)
            if error is not None:
                for failed in batch:
                    failed.error = error
                break
        return [batch]

    async def close(self) -> None:
        if self.http is not None:
            await self.http.aclose()
            self.http = None


register_processor(SPEC, JavaScript)
