"""The ``protobuf`` processor: convert payloads between Protobuf and JSON with ``.proto`` files.

As upstream: every ``.proto`` file under ``import_paths`` is loaded; ``message`` names the type
(fully qualified). ``to_json`` decodes a binary payload into structured JSON in Protobuf's
canonical JSON form (``use_proto_names`` keeps the field names of the ``.proto`` file,
``use_enum_numbers`` writes enums as numbers); ``from_json`` encodes a JSON payload
(``discard_unknown`` ignores fields the message does not have). A payload that does not convert
is flagged with the error and left as it was.

The ``.proto`` files are compiled by protoc itself (``grpcio-tools``) into descriptors that the
``protobuf`` runtime uses, both in the ``formats`` extra. ``decode`` gives a structured document
rather than canonical JSON, as upstream: 64-bit integers stay numbers, bytes stay bytes, a
``google.protobuf.Timestamp`` becomes a timestamp, the other well-known types upstream lists take
their JSON form (upstream's list names ``List``, so a ``ListValue`` is walked as a plain message
there and here), and only populated fields appear. Where we differ: a timestamp keeps
microseconds, not nanoseconds; schemas from the Buf Schema Registry (``bsr``) are refused at lint,
as they come from an outside service (its field takes a registry URL and module, not a file).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.message import Message
from pipeline.plugin import register_processor
from pipeline.spec import ComponentSpec, any_field, boolean, enum, string, string_list

PROTOC_TIMEOUT = 120  # seconds: protoc on a large schema tree

SPEC = ComponentSpec(
    "protobuf",
    "processor",
    summary="Converts messages between Protobuf and JSON using the types of `.proto` files.",
    categories=("Parsing",),
    fields=[
        enum("operator", ("to_json", "from_json", "decode"), "Which way to convert."),
        string(
            "message", "The fully qualified name of the Protobuf message type.", examples=("testing.Person",)
        ),
        boolean(
            "discard_unknown",
            "With `from_json`, ignore JSON fields the message does not define.",
            default=False,
        ),
        boolean(
            "use_proto_names",
            "With `to_json`, use the field names of the `.proto` file instead of camel case.",
            default=False,
        ),
        string_list(
            "import_paths", "Directories searched for `.proto` files; all found are loaded.", default=[]
        ),
        boolean("use_enum_numbers", "With `to_json`, write enum values as numbers.", default=False),
        any_field(
            "bsr",
            "Schemas from the Buf Schema Registry (not supported by benthic).",
            default=[],
            advanced=True,
        ),
    ],
)


def _modules() -> tuple[Any, Any, Any, Any, Any]:
    try:  # optional dependencies: the "formats" extra
        from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
        from grpc_tools import protoc  # likewise optional ("formats" extra)
    except ImportError:
        raise ValueError(
            "the protobuf processor needs protobuf and grpcio-tools: pip install 'benthic[formats]'"
        ) from None
    return descriptor_pb2, descriptor_pool, json_format, message_factory, protoc


def _proto_files(import_paths: list[str]) -> list[tuple[str, str]]:
    """(import path, file relative to it) for every .proto file found (hidden files skipped, as
    upstream)."""
    found = []
    for root in import_paths:
        for directory, _, files in os.walk(root):
            for name in sorted(files):
                if name.endswith(".proto") and not name.startswith("."):
                    found.append((root, os.path.relpath(os.path.join(directory, name), root)))
    return found


def load_message_class(import_paths: list[str], message: str) -> Any:
    descriptor_pb2, descriptor_pool, _, message_factory, protoc = _modules()
    if not message:
        raise ValueError("message field must not be empty")
    files = _proto_files(import_paths)
    if not files:
        raise ValueError(f"unable to find message '{message}' definition within '{import_paths}'")
    # the well-known types (google/protobuf/*.proto) ship with grpcio-tools
    well_known = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    with tempfile.TemporaryDirectory() as scratch:
        out = os.path.join(scratch, "set.pb")
        args = [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            *(f"-I{p}" for p in import_paths),
            f"-I{well_known}",
        ]
        args += [f"--descriptor_set_out={out}", "--include_imports", *sorted({rel for _, rel in files})]
        # protoc runs as a child process so that its diagnostics can go into the error
        result = subprocess.run(args, capture_output=True, text=True, timeout=PROTOC_TIMEOUT)
        if result.returncode != 0 or not os.path.exists(out):
            detail = "; ".join(line for line in result.stderr.splitlines() if line.strip())[:2000]
            raise ValueError(f"unable to load protos from {import_paths}: {detail}")
        with open(out, "rb") as fh:
            descriptor_set = descriptor_pb2.FileDescriptorSet.FromString(fh.read())
    pool = descriptor_pool.DescriptorPool()
    for file in descriptor_set.file:
        pool.Add(file)
    try:
        descriptor = pool.FindMessageTypeByName(message)
    except KeyError:
        raise ValueError(f"unable to find message '{message}' definition within '{import_paths}'") from None
    return message_factory.GetMessageClass(descriptor)


def _lint(conf: Any) -> list[str]:
    if conf["bsr"]:
        return ["bsr is not supported by benthic: use import_paths"]
    if not conf["message"]:
        return ["message field must not be empty"]
    return []


SPEC.lint = _lint


def _go_style(err: Exception) -> str:
    """The runtime's parse error in the words of Go's protojson where tests match on them
    (``unknown field "x"`` at the end)."""
    text = str(err)
    unknown = re.search(r'has no field named "([^"]+)"', text)
    if unknown:
        return f'proto: unknown field "{unknown.group(1)}"'
    return text.splitlines()[0] if text else type(err).__name__


# the well-known types upstream's decode writes in their canonical JSON form
_JSON_WELL_KNOWN = frozenset(
    {
        "Duration", "BoolValue", "Int32Value", "Int64Value", "UInt32Value", "UInt64Value", "FloatValue",
        "DoubleValue", "StringValue", "BytesValue", "List", "Struct", "Value", "FieldMask", "Empty", "Any",
    }
)  # fmt: skip


def _repeated(field: Any) -> bool:
    if hasattr(field, "is_repeated"):  # protobuf 5.28 and later; ``label`` is gone from 7
        return bool(field.is_repeated)
    return bool(field.label == field.LABEL_REPEATED)


def _map_key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


class Protobuf:
    def __init__(self, conf: dict[str, Any], res: Any) -> None:
        self.json_format = _modules()[2]
        self.cls = load_message_class(conf["import_paths"], conf["message"])
        self.name = conf["message"]
        self.operator = conf["operator"]
        self.conf = conf

    def _convert(self, msg: Message) -> None:
        if self.operator == "decode":
            decoded = self.cls()
            try:
                decoded.ParseFromString(msg.content)
            except Exception as err:
                raise ValueError(f"failed to unmarshal message '{self.name}': {err}") from None
            msg.set_structured(self._structured(decoded))
            return
        if self.operator == "to_json":
            decoded = self.cls()
            try:
                decoded.ParseFromString(msg.content)
            except Exception as err:
                raise ValueError(f"failed to unmarshal message '{self.name}': {err}") from None
            msg.set_structured(
                self.json_format.MessageToDict(
                    decoded,
                    preserving_proto_field_name=self.conf["use_proto_names"],
                    use_integers_for_enums=self.conf["use_enum_numbers"],
                )
            )
            return
        encoded = self.cls()
        try:
            self.json_format.Parse(
                msg.content.decode("utf-8", "replace"),
                encoded,
                ignore_unknown_fields=self.conf["discard_unknown"],
            )
        except Exception as err:
            raise ValueError(f"unmarshalling JSON message '{self.name}': {_go_style(err)}") from None
        msg.content = encoded.SerializeToString()

    # -- decode: a structured document, as upstream's ToMessageFast ---------------------------------

    def _structured(self, message: Any) -> Any:
        descriptor = message.DESCRIPTOR
        if descriptor.full_name == "google.protobuf.Timestamp":
            return datetime.fromtimestamp(message.seconds, UTC) + timedelta(
                microseconds=message.nanos // 1000
            )
        if descriptor.file.package == "google.protobuf" and descriptor.name in _JSON_WELL_KNOWN:
            return json.loads(self.json_format.MessageToJson(message, **self._json_options()))
        out: dict[str, Any] = {}
        for field, value in message.ListFields():
            name = field.name if self.conf["use_proto_names"] else field.json_name
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                value_field = field.message_type.fields_by_name["value"]
                out[name] = {_map_key(k): self._single(value_field, v) for k, v in value.items()}
            elif _repeated(field):
                out[name] = [self._single(field, v) for v in value]
            else:
                out[name] = self._single(field, value)
        return out

    def _single(self, field: Any, value: Any) -> Any:
        if field.type in (field.TYPE_MESSAGE, field.TYPE_GROUP):
            return self._structured(value)
        if field.type == field.TYPE_ENUM:
            enum_type = field.enum_type
            if enum_type.full_name == "google.protobuf.NullValue":
                return None
            if self.conf["use_enum_numbers"]:
                return value
            known = enum_type.values_by_number.get(value)
            return (known or enum_type.values[0]).name
        if field.type == field.TYPE_BYTES:
            return bytes(value)
        return value

    def _json_options(self) -> dict[str, Any]:
        return {
            "preserving_proto_field_name": self.conf["use_proto_names"],
            "use_integers_for_enums": self.conf["use_enum_numbers"],
            "indent": None,
        }

    async def process(self, batch: list[Message]) -> list[list[Message]]:
        for msg in batch:
            try:
                self._convert(msg)
            except ValueError as err:
                msg.error = str(err)
        return [batch]

    async def close(self) -> None:
        return None


register_processor(SPEC, Protobuf)
