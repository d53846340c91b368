"""A CSV reader that follows Go's ``encoding/csv`` Reader, which upstream's ``parse_csv`` uses.

Go's rules differ from Python's ``csv`` module in ways a mapping can see: blank lines are skipped;
``\\r\\n`` becomes ``\\n`` (and a lone ``\\r`` before the end of input is dropped); a quote inside an
unquoted field, or a quoted field followed by anything but the delimiter or a line end, is an error
unless ``lazy_quotes``; an unterminated quoted field is an error; every record must have as many
fields as the first. Errors are Go's ``*csv.ParseError`` texts with 1-based line and byte column
(``parse error on line 2, column 4: bare " in non-quoted-field``).
"""

from __future__ import annotations

from mapping_lang.errors import EvalError

ERR_BARE_QUOTE = 'bare " in non-quoted-field'
ERR_QUOTE = 'extraneous or missing " in quoted-field'
ERR_FIELD_COUNT = "wrong number of fields"


def _parse_error(start_line: int, line: int, col: int, err: str) -> EvalError:
    if err == ERR_FIELD_COUNT:
        return EvalError(f"record on line {line}: {err}")
    if start_line != line:
        return EvalError(f"record on line {start_line}; parse error on line {line}, column {col}: {err}")
    return EvalError(f"parse error on line {line}, column {col}: {err}")


class _Lines:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.num_line = 0

    def read(self) -> bytes:
        """The next line with its newline (empty at the end of the input)."""
        if self.pos >= len(self.data):
            return b""
        end = self.data.find(b"\n", self.pos)
        eof = end < 0
        if eof:
            line = self.data[self.pos :]
            self.pos = len(self.data)
            if line.endswith(b"\r"):  # Go drops a trailing \r before EOF
                line = line[:-1]
        else:
            line = self.data[self.pos : end + 1]
            self.pos = end + 1
        self.num_line += 1
        if line.endswith(b"\r\n"):
            line = line[:-2] + b"\n"
        return line


def _length_nl(b: bytes) -> int:
    return 1 if b.endswith(b"\n") else 0


def read_all(data: bytes, comma: str = ",", lazy_quotes: bool = False) -> list[list[str]]:
    """csv.Reader.ReadAll with Comma and LazyQuotes set."""
    lines = _Lines(data)
    sep = comma.encode()
    records: list[list[str]] = []
    fields_per_record = 0
    while True:
        # skip empty lines
        while True:
            line = lines.read()
            if not line:
                return records
            if len(line) == _length_nl(line):
                continue
            break
        rec_line = lines.num_line
        fields: list[bytes] = []
        buf = bytearray()
        col, pos_line = 1, lines.num_line
        more = True
        while more:  # each field; `more` is Go's `continue parseField`
            more = False
            if not line or line[0:1] != b'"':
                i = line.find(sep)
                field = line[:i] if i >= 0 else line[: len(line) - _length_nl(line)]
                if not lazy_quotes:
                    j = field.find(b'"')
                    if j >= 0:
                        raise _parse_error(rec_line, lines.num_line, col + j, ERR_BARE_QUOTE)
                fields.append(field)
                if i >= 0:
                    line = line[i + len(sep) :]
                    col += i + len(sep)
                    more = True
                continue
            # quoted field
            line = line[1:]
            col += 1
            buf.clear()
            while True:
                i = line.find(b'"')
                if i >= 0:
                    buf += line[:i]
                    line = line[i + 1 :]
                    col += i + 1
                    if line[:1] == b'"':  # "" is an escaped quote
                        buf += b'"'
                        line = line[1:]
                        col += 1
                    elif line.startswith(sep):  # ", ends the field
                        line = line[len(sep) :]
                        col += len(sep)
                        fields.append(bytes(buf))
                        more = True
                        break
                    elif _length_nl(line) == len(line):  # "\n or "EOF ends the record
                        fields.append(bytes(buf))
                        break
                    elif lazy_quotes:
                        buf += b'"'
                    else:
                        raise _parse_error(rec_line, lines.num_line, col - 1, ERR_QUOTE)
                elif line:  # the quoted field goes on past the line end
                    buf += line
                    col += len(line)
                    line = lines.read()
                    if line:
                        pos_line += 1
                        col = 1
                else:  # input ended inside the quotes
                    if not lazy_quotes:
                        raise _parse_error(rec_line, pos_line, col, ERR_QUOTE)
                    fields.append(bytes(buf))
                    break
        record = [f.decode("utf-8", "replace") for f in fields]
        if fields_per_record > 0:
            if len(record) != fields_per_record:
                raise _parse_error(rec_line, rec_line, 1, ERR_FIELD_COUNT)
        else:
            fields_per_record = len(record)
        records.append(record)
