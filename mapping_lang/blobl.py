"""``benthic blobl``: run a mapping over each line of stdin (or an input file).

Where we differ: upstream prints ``null`` for a result JSON cannot carry (a NaN or an infinity,
anywhere in the value); we print ``failed to execute map: json: unsupported value: NaN`` on
stderr, as for any other failed line, and go on with the next line.
"""

from __future__ import annotations

import argparse
import sys

from mapping_lang import MappingError
from mapping_lang import compile as compile_mapping
from mapping_lang.document import Document
from mapping_lang.value import NOTHING, format_json, to_text


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        prog="benthic blobl", description="Execute a Bloblang mapping on lines of input."
    )
    ap.add_argument("mapping", nargs="?", default=None, help="the mapping text")
    ap.add_argument("-f", "--file", help="read the mapping from a file")
    ap.add_argument("-p", "--pretty", action="store_true", help="pretty-print JSON output")
    ap.add_argument("-r", "--raw", action="store_true", help="write the raw payload (strings unquoted)")
    ap.add_argument("-i", "--input-file", help="read input lines from a file instead of stdin")
    args = ap.parse_args(argv)
    if args.file:
        with open(args.file, encoding="utf-8") as f:
            source = f.read()
    elif args.mapping is not None:
        source = args.mapping
    else:
        print("a mapping or -f file is required", file=sys.stderr)
        return 1
    try:
        mapping = compile_mapping(source, path=args.file)
    except MappingError as e:
        print(f"failed to parse mapping: {e}", file=sys.stderr)
        return 1
    stream = open(args.input_file, "rb") if args.input_file else sys.stdin.buffer  # noqa: SIM115
    try:
        for line in stream:
            line = line.rstrip(b"\r\n")
            msg = Document(line)
            try:
                value = mapping.query(msg)
            except MappingError as e:
                print(f"failed to execute map: {e}", file=sys.stderr)
                continue
            try:
                out = _output(line, value, pretty=args.pretty, raw=args.raw)
            except ValueError as e:  # a value JSON cannot carry (NaN, Inf)
                print(f"failed to execute map: {e}", file=sys.stderr)
                continue
            sys.stdout.buffer.write(out + b"\n")
            sys.stdout.buffer.flush()
    finally:
        if args.input_file:
            stream.close()
    return 0


def _output(line: bytes, value: object, *, pretty: bool, raw: bool) -> bytes:
    if value is NOTHING:
        return line
    if type(value) is str:
        return value.encode("utf-8", "surrogatepass")
    if type(value) is bytes:
        return value
    if pretty:
        return format_json(value, pretty=True)
    if raw:
        return to_text(value).encode()
    return format_json(value)
