"""Read `mongoexport` files: MongoDB Extended JSON v2, canonical and relaxed modes.

A file is either JSON Lines (mongoexport's default: one document per line, blank lines
ignored) or one JSON array (`mongoexport --jsonArray`). Wrappers become what an Odoo
`search_read` would have returned: `$oid` → its hex string, `$date` → Odoo's naive-UTC
"YYYY-MM-DD HH:MM:SS", `$numberLong`/`$numberInt` → int, `$numberDouble`/`$numberDecimal`
→ float. Wrappers Odoo data never holds (`$binary`, `$regularExpression`, ...) are errors,
not silently passed through.

Nothing here raises on bad input: each unreadable document becomes a `Problem` naming the
file and line, and reading goes on with the next line (JSON Lines) wherever it can.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cqrs_cli.domain.errors import CqrsError

ODOO_DATETIME = "%Y-%m-%d %H:%M:%S"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OID = re.compile(r"^[0-9a-fA-F]{24}$")
_EXCERPT_LEN = 120
_MASK = "***"
# Keys whose values must never reach a report, whatever the value's shape (text, number,
# object, array, an Extended JSON wrapper): the old app's users collection held password
# hashes and tokens next to the fields we import. Masking a harmless field too is fine.
_SECRET_WORDS = (
    r"pass|pwd|secret|token|api[-_ ]?key|auth(?!or(?!iz))|credential|private|hash|salt|otp|session"
    r"|cookie|signature|bearer"
)
_SECRET_KEY = re.compile(_SECRET_WORDS, re.IGNORECASE)
# `"key":` in raw text (a line that is not valid JSON, so was never parsed).
_KEY_IN_TEXT = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:\s*')
# `key=value` / `key: value` outside JSON (a connection string in a note) and escaped JSON
# inside a JSON string (`\"pwd\": \"...\"`); values already masked are left alone.
_SECRET_ASSIGNMENT = re.compile(
    rf"((?:{_SECRET_WORDS})[\w.-]*(?:\\?\")?\s*[=:]\s*)(?!\")[^\s,;&}}\]]+", re.IGNORECASE
)


class ExtJsonError(ValueError):
    """A value that is not valid Extended JSON (or not a type Odoo data can hold)."""


@dataclass(frozen=True)
class Problem:
    """One thing in the input that was not imported as is, and why.

    `line` is the 1-based line where the document starts (when known), `index` its
    0-based position among the file's documents. `excerpt` is short and has secrets
    masked, so a problem can be printed or logged as it stands.
    """

    file: str
    line: int | None
    index: int | None
    reason: str
    excerpt: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        elif self.index is not None:
            where += f"[{self.index}]"
        text = f"{where}: {self.reason}"
        return f"{text} ({self.excerpt})" if self.excerpt else text


@dataclass(frozen=True)
class Document:
    """One decoded document and where it came from."""

    file: str
    line: int
    index: int
    value: Any

    def problem(self, reason: str, excerpt_of: Any = None) -> Problem:
        shown = self.value if excerpt_of is None else excerpt_of
        return Problem(self.file, self.line, self.index, reason, excerpt(shown))


def excerpt(value: Any) -> str:
    """A one-line, truncated rendering of `value` with secrets masked.

    The value of every key that looks secret is masked whatever its shape, nested
    objects and arrays included, and so is every `$binary` payload; in text that is not
    valid JSON (a malformed line) the same keys are found and their values skipped as
    JSON would delimit them, up to the end of the text when it is cut short.
    """
    text = _mask_text(value) if isinstance(value, str) else json.dumps(_mask(value), default=str)
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT_LEN else text[: _EXCERPT_LEN - 3] + "..."


def _secret(key: object) -> bool:
    return key == "$binary" or _SECRET_KEY.search(str(key)) is not None


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _MASK if _secret(k) else _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    if isinstance(value, str):
        return _mask_text(value)  # a JSON document or a `key=value` list kept as text
    return value


def _mask_text(text: str) -> str:
    out: list[str] = []
    pos = 0
    while (found := _KEY_IN_TEXT.search(text, pos)) is not None:
        out.append(text[pos : found.end()])
        pos = found.end()
        if _secret(found.group(1)):
            out.append(f'"{_MASK}"')
            pos = _value_end(text, pos)
    out.append(text[pos:])
    return _SECRET_ASSIGNMENT.sub(rf"\g<1>{_MASK}", "".join(out))


def _value_end(text: str, pos: int) -> int:
    """Where the JSON value starting at `pos` ends (the end of `text` when cut short)."""
    if pos >= len(text):
        return pos
    if text[pos] == '"':
        return _string_end(text, pos)
    if text[pos] in "{[":
        depth = 0
        while pos < len(text):
            char = text[pos]
            if char == '"':
                pos = _string_end(text, pos)
                continue
            if char in "{[":
                depth += 1
            elif char in "}]":
                depth -= 1
                if depth == 0:
                    return pos + 1
            pos += 1
        return pos
    while pos < len(text) and text[pos] not in ",}] \t\r\n":
        pos += 1
    return pos


def _string_end(text: str, pos: int) -> int:
    """Just past the JSON string opening at `pos` (escapes honoured)."""
    pos += 1
    while pos < len(text):
        if text[pos] == "\\":
            pos += 2
            continue
        if text[pos] == '"':
            return pos + 1
        pos += 1
    return pos


# --- values ---------------------------------------------------------------------------


def decode(value: Any) -> Any:
    """Replace every Extended JSON wrapper inside `value` by its plain value."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) >= 1 and all(isinstance(k, str) and k.startswith("$") for k in value):
        return _wrapper(value)
    return {k: _decode_item(k, v) for k, v in value.items()}


def _decode_item(key: str, value: Any) -> Any:
    try:
        return decode(value)
    except ExtJsonError:
        if not _secret(key):
            raise
        # The reason would quote the value: a secret must not reach the report that way.
        raise ExtJsonError(f"the value of {key!r} is not valid Extended JSON (not shown)") from None


def _wrapper(value: dict[str, Any]) -> Any:
    keys = set(value)
    if keys == {"$oid"}:
        return _oid(value["$oid"])
    if keys == {"$date"}:
        return odoo_datetime(_date(value["$date"]))
    if keys == {"$numberLong"} or keys == {"$numberInt"}:
        return _integer(value)
    if keys == {"$numberDouble"} or keys == {"$numberDecimal"}:
        return _float(value)
    raise ExtJsonError(f"unsupported Extended JSON type {', '.join(sorted(keys))}")


def _oid(raw: Any) -> str:
    if not isinstance(raw, str) or not _OID.match(raw):
        raise ExtJsonError(f"$oid is not 24 hex digits: {raw!r}")
    return raw.lower()


def _integer(value: dict[str, Any]) -> int:
    ((key, raw),) = value.items()
    # A relaxed-mode writer may put a bare number; canonical mode always a string.
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise ExtJsonError(f"{key} must be a string of digits: {raw!r}")
    try:
        return int(raw)
    except ValueError:
        raise ExtJsonError(f"{key} is not an integer: {raw!r}") from None


def _float(value: dict[str, Any]) -> float:
    ((key, raw),) = value.items()
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise ExtJsonError(f"{key} must be a numeric string: {raw!r}")
    try:
        return float(raw)
    except ValueError:
        raise ExtJsonError(f"{key} is not a number: {raw!r}") from None


def _date(raw: Any) -> datetime:
    """`$date` as ISO-8601 (relaxed), `{"$numberLong": ms}` (canonical) or bare ms."""
    if isinstance(raw, dict):
        if set(raw) != {"$numberLong"}:
            raise ExtJsonError(f"$date holds an unexpected object: {sorted(raw)}")
        raw = _integer(raw)
    if isinstance(raw, int) and not isinstance(raw, bool):
        return _EPOCH + timedelta(milliseconds=raw)
    if not isinstance(raw, str):
        raise ExtJsonError(f"$date is neither ISO-8601 nor milliseconds: {raw!r}")
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ExtJsonError(f"$date is not ISO-8601: {raw!r}") from None
    # Mongo dates are instants; a zone-less string can only mean UTC there.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def odoo_datetime(moment: datetime) -> str:
    """Odoo's datetime text: naive UTC, seconds only (sub-seconds are dropped)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(ODOO_DATETIME)


# --- files ----------------------------------------------------------------------------


def read_documents(path: Path) -> tuple[list[Document], list[Problem]]:
    """Every document of a mongoexport file, decoded, plus the ones that could not be.

    An unreadable file (missing, not UTF-8) is a `CqrsError`: nothing of it can be
    imported, so there is no partial result to report on.
    """
    text = _read_text(path)
    name = path.name
    if text.lstrip().startswith("["):
        return _read_array(name, text)
    return _read_lines(name, text)


def _read_text(path: Path) -> str:
    try:
        # utf-8-sig: exports saved by Windows tools often start with a BOM.
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CqrsError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise CqrsError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise CqrsError(f"{path}: cannot read ({exc.strerror})") from None


def _read_lines(name: str, text: str) -> tuple[list[Document], list[Problem]]:
    docs: list[Document] = []
    problems: list[Problem] = []
    index = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(
                Problem(
                    name,
                    number,
                    index,
                    f"malformed JSON: {exc.msg} (column {exc.colno})",
                    excerpt(line),
                )
            )
        else:
            _decode_into(Document(name, number, index, raw), docs, problems)
        index += 1
    return docs, problems


def _read_array(name: str, text: str) -> tuple[list[Document], list[Problem]]:
    """Walk the array element by element so each document keeps its line number."""
    decoder = json.JSONDecoder()
    docs: list[Document] = []
    problems: list[Problem] = []
    pos = _skip_space(text, text.index("[") + 1)
    if text.startswith("]", pos):
        return docs, _trailing(name, text, pos + 1)
    index = 0
    line, counted_to = 1, 0
    while True:
        # Count newlines incrementally: recounting from 0 would be quadratic.
        line += text.count("\n", counted_to, pos)
        counted_to = pos
        try:
            raw, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            # One broken element hides where the next one starts: stop here.
            problems.append(_array_problem(name, text, exc, index))
            return docs, problems
        _decode_into(Document(name, line, index, raw), docs, problems)
        index += 1
        pos = _skip_space(text, pos)
        if text.startswith(",", pos):
            pos = _skip_space(text, pos + 1)
            continue
        if text.startswith("]", pos):
            return docs, problems + _trailing(name, text, pos + 1)
        at = line + text.count("\n", counted_to, pos)
        problems.append(
            Problem(
                name,
                at,
                index,
                "malformed JSON array: expected ',' or ']'",
                excerpt(text[pos : pos + 60]),
            )
        )
        return docs, problems


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _trailing(name: str, text: str, pos: int) -> list[Problem]:
    pos = _skip_space(text, pos)
    if pos >= len(text):
        return []
    line = text.count("\n", 0, pos) + 1
    return [
        Problem(
            name, line, None, "unexpected text after the JSON array", excerpt(text[pos : pos + 60])
        )
    ]


def _array_problem(name: str, text: str, exc: json.JSONDecodeError, index: int) -> Problem:
    line_text = text.splitlines()[exc.lineno - 1] if text.splitlines() else ""
    return Problem(
        name,
        exc.lineno,
        index,
        f"malformed JSON: {exc.msg} (column {exc.colno}); the rest of the array is not read",
        excerpt(line_text),
    )


def _decode_into(doc: Document, docs: list[Document], problems: list[Problem]) -> None:
    try:
        value = decode(doc.value)
    except ExtJsonError as exc:
        problems.append(doc.problem(str(exc)))
        return
    docs.append(Document(doc.file, doc.line, doc.index, value))
