"""Go's ``encoding/csv`` ``Reader.Read()`` for one record, with its exact error texts.

Why: pflag's ``stringSlice`` and ``stringToString`` read each flag value as one CSV record, so
``--etcd-servers="a,b"`` splits but ``--etcd-servers=a"b`` fails with
``parse error on line 1, column 2: bare " in non-quoted-field``. Columns are 1-based byte
offsets, as in Go 1.17 and later.
"""

from __future__ import annotations

from deployer.schema.gostrconv import GoValueError, go_bytes

__all__ = ["read_csv_record"]

_BARE_QUOTE = 'bare " in non-quoted-field'
_QUOTE = 'extraneous or missing " in quoted-field'


def _parse_error(start_line: int, line: int, column: int, err: str) -> GoValueError:
    if start_line != line:
        return GoValueError(
            f"record on line {start_line}; parse error on line {line}, column {column}: {err}"
        )
    return GoValueError(f"parse error on line {line}, column {column}: {err}")


class _Lines:
    """bufio-style line reader with csv.Reader.readLine's normalizations."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.num_line = 0

    def read(self) -> tuple[bytes, bool]:
        """Return (line, at_eof); ``at_eof`` is Go's ``io.EOF`` with an empty line."""
        self.num_line += 1
        if self.pos >= len(self.data):
            return b"", True
        nl = self.data.find(b"\n", self.pos)
        if nl < 0:
            line = self.data[self.pos :]
            self.pos = len(self.data)
            if line.endswith(b"\r"):
                line = line[:-1]
        else:
            line = self.data[self.pos : nl + 1]
            self.pos = nl + 1
        if len(line) >= 2 and line[-2:] == b"\r\n":
            line = line[:-2] + b"\n"
        return line, False


def _nl(line: bytes) -> int:
    return 1 if line.endswith(b"\n") else 0


def _text(raw: bytes | bytearray, mode: str) -> str:
    return bytes(raw).decode("utf-8", mode)


def read_csv_record(value: str) -> list[str]:
    """Return the first CSV record of ``value`` as Go's ``csv.NewReader(...).Read()`` does.

    Raises:
        GoValueError: Go's error text (``EOF`` for blank input, quote errors with position).
    """
    if value and '"' not in value and "\n" not in value and "\r" not in value:
        return value.split(",")
    data, mode = go_bytes(value)
    lines = _Lines(data)
    while True:
        line, eof = lines.read()
        if not eof and len(line) == _nl(line):
            continue  # csv skips empty lines
        break
    if eof:
        raise GoValueError("EOF")
    rec_line = lines.num_line
    pos_line, col = lines.num_line, 1
    fields: list[str] = []
    while True:
        if not line or line[0] != ord('"'):
            i = line.find(b",")
            field = line[:i] if i >= 0 else line[: len(line) - _nl(line)]
            j = field.find(b'"')
            if j >= 0:
                raise _parse_error(rec_line, lines.num_line, col + j, _BARE_QUOTE)
            fields.append(_text(field, mode))
            if i >= 0:
                line, col = line[i + 1 :], col + i + 1
                continue
            return fields
        buf = bytearray()
        line, col = line[1:], col + 1
        while True:
            i = line.find(b'"')
            if i >= 0:
                buf += line[:i]
                line, col = line[i + 1 :], col + i + 1
                if line[:1] == b'"':
                    buf += b'"'
                    line, col = line[1:], col + 1
                    continue
                if line[:1] == b",":
                    line, col = line[1:], col + 1
                    fields.append(_text(buf, mode))
                    break
                if _nl(line) == len(line):
                    fields.append(_text(buf, mode))
                    return fields
                raise _parse_error(rec_line, lines.num_line, col - 1, _QUOTE)
            if line:
                buf += line
                col += len(line)
                line, _ = lines.read()
                if line:
                    pos_line, col = pos_line + 1, 1
                continue
            raise _parse_error(rec_line, pos_line, col, _QUOTE)
