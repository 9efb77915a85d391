"""Reads the body of POST /v1/batches (JSON or CSV) into rows, each checked like a single job.

Two kinds of problem, kept apart on purpose:

* the body itself cannot be read (not an object, no `items`, a broken CSV, too many rows,
  badly typed defaults): an ApiError, and nothing of the batch is accepted;
* one row cannot be a valid job (bad check digit, unknown symbology, an option its symbology
  does not take): that row keeps its place with `error_code` / `error_message` and the rest of
  the batch goes on. A client with 100,000 labels learns which ones to fix, by row number,
  instead of getting one 400 for the whole file.

Each row goes through `validation.parse_generate`, the exact check a single job gets (the
renderer's `check()` included), so a row accepted here is a job the pipeline can draw. That is
CPU work, seconds for a full batch: the gateway calls `read_body` / `parse_json` in a check
worker process (services/gateway/jobs/costs.py `read_batch`).

Bodies are read as a stream (CSV records one by one, JSON items with ijson) and refused at the
row cap before more rows are held: 4,000,000 rows of "1" in 8 MB took the gateway to ~1 GB
when the whole document was built first. Before any row is checked, the costly rows' checks
are estimated (services/render/cost.py, each distinct row once) and a batch above the caller's
allowance is refused whole (request_too_costly), without having spent them.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import ijson
import orjson

from services.contract import FORMATS, ErrorCode
from services.gateway.jobs.costs import too_costly
from services.gateway.edge.errors import ApiError
from services.gateway.jobs.validation import parse_generate
from services.render.cost import CHEAP_MS, check_ms
from services.render.symbologies import lookup

MAX_ROWS = 100_000

# The same limits a single job's fields have (validation.py), so a batch default that passes
# here does not fail again on every row.
_COMPANY_MAX = 64
_IDEMPOTENCY_KEY_MAX = 128

# CSV columns with a meaning of their own; any other named column is one render option.
_DATA, _SYMBOLOGY, _FORMAT, _OPTIONS = "data", "symbology", "format", "options"
# A GS1 AI as a column, "(01)": a row's data is then its element string, AI by AI in column order
# (a Digital Link batch: `digital_link` as a column or a batch option).
_AI_COLUMN = re.compile(r"\(\d{2,4}\)")
_RESERVED = (_DATA, _SYMBOLOGY, _FORMAT, _OPTIONS)
_DELIMITERS = (",", ";", "\t")
_BOM = "\ufeff"
_QUOTED = re.compile(r'"[^"]*"')
# What Excel writes for a number in locales with a decimal comma (the same locales that make
# it write `;`-delimited "CSV"): 0,33 is the number 0.33 there.
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")


@dataclass
class BatchRow:
    """One item of a batch. Valid: `data` / `symbology` / `format` / `options` are what the job
    is submitted with (symbology/format None: the company profile's default). Invalid: what the
    client sent, as far as it could be read, with the reason."""

    row: int  # 1-based item number (CSV: the n-th data row, header and blank lines not counted)
    data: str
    symbology: str | None = None
    format: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    error_code: str | None = None
    error_message: str | None = None  # CSV: starts "line N: ", the file's line to fix

    @property
    def valid(self) -> bool:
        return self.error_code is None

    def to_json(self) -> dict[str, Any]:
        """Compact: a field that is not set is left out (100,000 rows are stored and sent)."""
        out: dict[str, Any] = {"row": self.row, "data": self.data}
        for name in ("symbology", "format", "error_code", "error_message"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.options:
            out["options"] = self.options
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> BatchRow:
        return cls(row=int(raw["row"]), data=str(raw["data"]), symbology=raw.get("symbology"),
                   format=raw.get("format"), options=dict(raw.get("options") or {}),
                   error_code=raw.get("error_code"), error_message=raw.get("error_message"))


@dataclass
class BatchInput:
    """A readable batch: its rows (valid and not) and the batch-wide settings."""

    rows: list[BatchRow]
    company: str | None = None
    sheet: dict[str, Any] | None = None
    idempotency_key: str | None = None
    # Batch defaults, as validated (canonical symbology name, lower-case format): what a row
    # that does not say otherwise was checked with.
    symbology: str | None = None
    format: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> int:
        return sum(1 for row in self.rows if row.error_code is None)

    @property
    def invalid(self) -> int:
        return len(self.rows) - self.valid

    def first_errors(self, n: int = 20) -> list[dict[str, Any]]:
        """The first `n` rejected rows, for a response that stays small however bad the file."""
        errors: list[dict[str, Any]] = []
        for row in self.rows:
            if len(errors) >= n:
                break
            if row.error_code is not None:
                errors.append({"row": row.row, "code": row.error_code, "message": row.error_message})
        return errors


# --- batch-wide settings ------------------------------------------------------------------

def _invalid(message: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_REQUEST, message)


def _string(value: Any, name: str, limit: int | None = None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(f"{name} must be a string")
    if limit is not None and len(value) > limit:
        raise _invalid(f"{name} is longer than {limit} characters")
    return value


def _default_symbology(value: Any) -> str | None:
    """A batch default names a symbology that exists: checked once here rather than failing
    every one of 100,000 rows with the same unknown_symbology."""
    name = _string(value, "symbology")
    if name is None:
        return None
    symbology = lookup(name)
    if symbology is None:
        raise ApiError(ErrorCode.UNKNOWN_SYMBOLOGY, f"unknown symbology {name!r} (the batch default); "
                                                    "see GET /v1/symbologies")
    return symbology.name


def _default_format(value: Any) -> str | None:
    fmt = _string(value, "format")
    if fmt is None:
        return None
    if fmt.lower() not in FORMATS:
        raise ApiError(ErrorCode.UNKNOWN_FORMAT, f"unknown format {fmt!r} (the batch default); "
                                                 f"one of {', '.join(FORMATS)}")
    return fmt.lower()


def _object(value: Any, name: str) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        raise _invalid(f"{name} must be a JSON object")
    return value


def _settings(symbology: Any, fmt: Any, options: Any, company: Any, sheet: Any,
              idempotency_key: Any) -> BatchInput:
    """The batch without rows: its defaults, each checked for type (and symbology/format for
    existence). Option values are checked per row: which ones apply depends on the symbology."""
    return BatchInput(rows=[], symbology=_default_symbology(symbology), format=_default_format(fmt),
                      options=_object(options, "options") or {},
                      company=_string(company, "company", _COMPANY_MAX), sheet=_object(sheet, "sheet"),
                      idempotency_key=_string(idempotency_key, "idempotency_key", _IDEMPOTENCY_KEY_MAX))


def _check_count(count: int) -> None:
    if count > MAX_ROWS:
        raise ApiError(ErrorCode.TOO_MANY_ROWS, f"a batch takes at most {MAX_ROWS:,} rows; this one has more "
                                                "(split it)")


def _capped(items: Iterator[Any]) -> Iterator[Any]:
    """The items, refused as soon as there is one more than the cap (nothing past it is read)."""
    for count, item in enumerate(items, 1):
        _check_count(count)
        yield item


# --- the cost of checking the rows ----------------------------------------------------------

# A row still to check: its number, its body as a single job's (validation.parse_generate) and
# that body's key (_Checker.key: computed once, for the estimate and the check alike).
_ToCheck = tuple[int, dict[str, Any], bytes | None]


def _to_check(number: int, body: dict[str, Any]) -> _ToCheck:
    return number, body, _Checker.key(body)


def _row_cost_ms(body: dict[str, Any]) -> float:
    """The costly part of a row's check (services/render/cost.py); 0 for a cheap check, which
    the reading's measured CPU pays for."""
    symbology = lookup(body["symbology"]) if isinstance(body["symbology"], str) else None
    data, options = body["data"], body["options"]
    if symbology is None or not isinstance(data, str) or not isinstance(options, (dict, type(None))):
        return 0.0
    estimate = check_ms(symbology, data, options or {})
    return estimate if estimate > CHEAP_MS else 0.0


def _check_rows(plan: list[BatchRow | _ToCheck], allowance_ms: float) -> list[BatchRow]:
    """Every row checked, once the costly checks together are known to fit `allowance_ms`
    (label batches repeat rows: each distinct one is checked, and counted, once)."""
    seen: set[bytes] = set()
    estimate = 0.0
    for item in plan:
        if isinstance(item, BatchRow):
            continue
        _, body, key = item
        if key is None or key not in seen:
            estimate += _row_cost_ms(body)
            if key is not None:
                seen.add(key)
    if estimate > allowance_ms:
        raise too_costly(estimate, allowance_ms, "this batch's rows are")
    checker = _Checker()
    return [item if isinstance(item, BatchRow) else checker.row(*item) for item in plan]


# --- one row ------------------------------------------------------------------------------

def _merged(batch: BatchInput, data: Any, symbology: Any, fmt: Any, options: Any) -> dict[str, Any]:
    """A row as a single-job body: the row's own fields over the batch defaults (options key by
    key). A wrongly typed row field is passed on as it is, for parse_generate to name it."""
    if options is None:
        options = batch.options
    elif isinstance(options, dict) and batch.options:
        options = {**batch.options, **options}
    return {"data": data, "symbology": batch.symbology if symbology is None else symbology,
            "format": batch.format if fmt is None else fmt, "options": options, "company": batch.company}


def _as_text(data: Any) -> str:
    """A rejected row's data as the client can recognise it (non-string data as its JSON)."""
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    try:
        return orjson.dumps(data).decode()
    except TypeError:
        return repr(data)


# A row's outcome as remembered: (data, symbology, format, options as JSON, error code,
# error message). Immutable, so a remembered outcome cannot be changed through one row; each
# row reads its own options dict back from the JSON.
_Outcome = tuple[str, str | None, str | None, bytes, str | None, str | None]


class _Checker:
    """parse_generate for each row, remembering outcomes: label batches repeat the same label
    (copies of one product), and the renderer's check is the cost of a row."""

    def __init__(self) -> None:
        self._seen: dict[bytes, _Outcome] = {}

    def row(self, number: int, body: dict[str, Any], key: bytes | None) -> BatchRow:
        """Row `number`: `body` checked, or its outcome remembered under `key` (self.key(body))."""
        if key is None:
            checked = self._check(body)
            checked.row = number
            return checked
        outcome = self._seen.get(key)
        if outcome is None:
            outcome = self._seen[key] = self._remembered(self._check(body))
        data, symbology, fmt, options, code, message = outcome
        # Options read back from JSON: each row its own dict, whoever changes one.
        return BatchRow(row=number, data=data, symbology=symbology, format=fmt,
                        options=orjson.loads(options) if options else {}, error_code=code, error_message=message)

    @staticmethod
    def key(body: dict[str, Any]) -> bytes | None:
        try:
            return _kept(orjson.dumps(body, option=orjson.OPT_SORT_KEYS))
        except TypeError:  # not JSON-like (a caller's own objects): not remembered
            return None

    @staticmethod
    def _remembered(row: BatchRow) -> _Outcome:
        options = _kept(orjson.dumps(row.options)) if row.options else b""
        return row.data, row.symbology, row.format, options, row.error_code, row.error_message

    @staticmethod
    def _check(body: dict[str, Any]) -> BatchRow:
        try:
            request = parse_generate(body, job_id="batch-row", client_id=None)
        except ApiError as exc:
            # A copy: the options may be the batch's default dict, shared by every row.
            options = dict(body["options"]) if isinstance(body["options"], dict) else {}
            return BatchRow(row=0, data=_as_text(body["data"]), symbology=_str_or_none(body["symbology"]),
                            format=_str_or_none(body["format"]), options=options,
                            error_code=exc.code, error_message=exc.message)
        # What parse_generate made of the row, so the job is submitted exactly as checked:
        # structured GS1 data becomes its element string, and may bring symbology gs1_128 or
        # option gs1 with it.
        return BatchRow(row=0, data=request.data, symbology=request.symbology, format=request.format,
                        options=dict(request.options))


def _kept(dumped: bytes) -> bytes:
    """A copy of orjson's output the size of its contents, for bytes that are kept: orjson
    writes into a 4 KiB buffer and the bytes it returns keep all of it (measured: 4,097 bytes
    held per 20-byte dump), so 100,000 distinct rows' keys held ~400 MB (worker peak 933 MB for
    a 9.2 MB body)."""
    return bytes(memoryview(dumped))


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _rejected(number: int, code: str, message: str, data: Any = None) -> BatchRow:
    return BatchRow(row=number, data=_as_text(data), error_code=code, error_message=message)


# --- JSON ---------------------------------------------------------------------------------

def parse_json(body: Any, allowance_ms: float = float("inf")) -> BatchInput:
    """`{"items": [{"data": ...}, ...], "symbology", "format", "options", "company", "sheet",
    "idempotency_key"}`, already parsed (a WebSocket message, bounded by its frame size).
    Fields the gateway does not know are ignored, as for a single job (openapi.py: the page and
    older clients send extras)."""
    if not isinstance(body, dict):
        raise _invalid("request must be a JSON object")
    items = body.get("items")
    if items is None:
        raise _invalid("items is required: a list of {\"data\": ...} objects")
    if not isinstance(items, list):
        raise _invalid("items must be a list of {\"data\": ...} objects")
    return _json_batch(body, iter(items), allowance_ms)


def _json_batch(settings: dict[str, Any], items: Iterator[Any], allowance_ms: float) -> BatchInput:
    batch = _settings(settings.get("symbology"), settings.get("format"), settings.get("options"),
                      settings.get("company"), settings.get("sheet"), settings.get("idempotency_key"))
    plan = [_json_row(batch, number, item) for number, item in enumerate(_capped(items), 1)]
    if not plan:
        raise _invalid("items must not be empty")
    batch.rows = _check_rows(plan, allowance_ms)
    return batch


def _json_row(batch: BatchInput, number: int, item: Any) -> BatchRow | _ToCheck:
    if not isinstance(item, dict):
        return _rejected(number, ErrorCode.INVALID_REQUEST, "item must be a JSON object with data", item)
    return _to_check(number, _merged(batch, item.get("data"), item.get("symbology"), item.get("format"),
                                     item.get("options")))


_SETTINGS = ("symbology", "format", "options", "company", "sheet", "idempotency_key")


def read_json(raw: bytes, allowance_ms: float = float("inf")) -> BatchInput:
    """A JSON body as bytes, read as a stream: the batch-wide fields in one pass (the items
    skipped), then the items one by one up to the row cap."""
    try:
        settings, items_event = _json_settings(raw)
        if items_event is None:
            raise _invalid("items is required: a list of {\"data\": ...} objects")
        if items_event != "start_array":
            raise _invalid("items must be a list of {\"data\": ...} objects")
        return _json_batch(settings, ijson.items(raw, "items.item", use_float=True), allowance_ms)
    except ijson.JSONError as exc:
        raise ApiError(ErrorCode.INVALID_JSON, f"body is not valid JSON: {str(exc)[:200]}") from None


def _json_settings(raw: bytes) -> tuple[dict[str, Any], str | None]:
    """The top-level fields of the batch settings, and the first event of `items` (None if
    absent), without building the items. Unknown fields are skipped as they are read."""
    settings: dict[str, Any] = {}
    items_event: str | None = None
    depth = 0  # containers open
    key: str | None = None
    builder: ijson.ObjectBuilder | None = None
    for _prefix, event, value in ijson.parse(raw, use_float=True):
        if depth == 0 and event != "start_map":
            raise _invalid("request must be a JSON object")
        if depth == 1 and event == "map_key":
            key = value
            continue
        if depth == 1 and event != "end_map":  # a top-level value begins
            if key == "items":
                items_event = event
            elif key in _SETTINGS:
                builder = ijson.ObjectBuilder()
        if builder is not None:
            builder.event(event, value)
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
        if depth == 1 and builder is not None:  # that value is whole
            settings[str(key)] = builder.value
            builder = None
    return settings, items_event


# --- CSV ----------------------------------------------------------------------------------

def _csv_error(line: int, message: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_CSV, f"line {line}: {message}")


def _physical_lines(raw: bytes) -> int:
    """Lines in `raw` the way csv counts them: \\r\\n, \\r and \\n each end one."""
    return raw.count(b"\n") + raw.count(b"\r") - raw.count(b"\r\n") + 1


def decode_csv(raw: bytes) -> str:
    """The CSV body as text: UTF-8, with the byte-order mark Excel's "CSV UTF-8" puts first
    removed (else the first column would be named "\\ufeffdata")."""
    if raw.startswith(_BOM.encode()):
        raw = raw[len(_BOM.encode()):]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start]
        raise _csv_error(_physical_lines(raw[:exc.start]),
                         f"not UTF-8 (byte 0x{bad:02x} at offset {exc.start}); save the file as "
                         "\"CSV UTF-8\"") from None


def _delimiter(header: str) -> str:
    """`,`, `;` (Excel in locales with a decimal comma) or tab: whichever the header line has
    most of outside quotes; a one-column header has none and reads as `,`."""
    bare = _QUOTED.sub("", header)
    counts = {d: bare.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])  # ties: the first, `,`
    return best if counts[best] else ","


def _header_line(text: str) -> str:
    for line in io.StringIO(text, newline=""):
        if line.strip():
            return line
    return ""


@dataclass
class _Record:
    line: int  # where the record starts (a quoted field may carry it over several lines)
    cells: list[str]


def _records(text: str, delimiter: str) -> Iterator[_Record]:
    """Non-blank records with their first line. A record of empty cells only (`;;;`: an empty
    spreadsheet row) is blank too."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _csv_error(start, _reader_trouble(exc, start, reader.line_num)) from None
        if any(cell.strip() for cell in cells):
            yield _Record(start, cells)
        start = reader.line_num + 1


def _reader_trouble(exc: csv.Error, start: int, reached: int) -> str:
    """csv's message, placed: the error surfaces where reading stopped (for a quote never
    closed, the end of the file), but the record to fix starts at `start`."""
    if reached > start:
        return f"{exc} in the record starting on this line (read on to line {reached}: is a quote left open?)"
    return f"{exc} in the record on this line"


def _columns(header: _Record) -> list[str]:
    """Column names, trimmed; `data`, `symbology`, `format` and `options` in any case. An unnamed
    column (Excel's trailing delimiter) is allowed: a value in it is a row error."""
    names = [cell.strip() for cell in header.cells]
    names = [name.lower() if name.lower() in _RESERVED else name for name in names]
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            raise _csv_error(header.line, f"column {name!r} appears twice in the header")
        seen.add(name)
    ais = [name for name in names if _AI_COLUMN.fullmatch(name)]
    if _DATA not in seen and not ais:
        raise _csv_error(header.line, f"the header has no {_DATA!r} column and no GS1 AI columns such as (01) (it "
                                      f"has: {', '.join(repr(n) for n in names)})")
    if _DATA in seen and ais:
        raise _csv_error(header.line, f"the header has both a {_DATA!r} column and GS1 AI columns ({', '.join(ais)}): "
                                      "a row's data is one or the other")
    return names


def _cell_value(cell: str, decimal_comma: bool) -> Any:
    """An option cell: JSON if it reads as a number, true/false or a string, else the text
    (`#ff0000` stays a colour). TRUE/FALSE is what Excel writes for booleans."""
    text = cell.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if decimal_comma and _DECIMAL_COMMA.match(text):
        return float(text.replace(",", "."))
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
    return value if isinstance(value, (int, float, str)) else text


class _CellError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _options_cell(cell: str) -> dict[str, Any]:
    # orjson's own message is left out: its "line 1 column 2" is not the file's line.
    try:
        value = orjson.loads(cell)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise _CellError(ErrorCode.INVALID_OPTION, f"options must be a JSON object, e.g. {{\"dpi\": 300}}; "
                                                   f"got {cell.strip()[:60]!r}")
    return value


def _row_fields(columns: list[str], cells: list[str], decimal_comma: bool) -> dict[str, Any]:
    """A record as row fields; an empty cell is "not given". The `options` column first, then
    the one-option columns over it (the more specific say wins)."""
    given = {name: cell for name, cell in zip(columns, cells) if cell.strip()}
    if "" in given:
        raise _CellError(ErrorCode.INVALID_REQUEST, f"a value ({given[''][:40]!r}) in a column with no name "
                                                    "in the header")
    ais = {name: cell.strip() for name, cell in given.items() if _AI_COLUMN.fullmatch(name)}
    if ais:
        given[_DATA] = "".join(f"{name}{value}" for name, value in ais.items())  # "(01)...(17)...", in column order
    options: dict[str, Any] | None = _options_cell(given[_OPTIONS]) if _OPTIONS in given else None
    single = {name: _cell_value(cell, decimal_comma) for name, cell in given.items()
              if name not in _RESERVED and not _AI_COLUMN.fullmatch(name)}
    if single:
        options = {**(options or {}), **single}
    return {"data": given.get(_DATA),  # not trimmed: spaces may be part of the data
            "symbology": given[_SYMBOLOGY].strip() if _SYMBOLOGY in given else None,
            "format": given[_FORMAT].strip() if _FORMAT in given else None, "options": options}


def _query_json(query: Mapping[str, str], name: str) -> Any:
    raw = query.get(name) or None
    if raw is None:
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _invalid(f"{name} (query parameter) must be a JSON object: {exc}") from None
    if not isinstance(value, dict):
        raise _invalid(f"{name} (query parameter) must be a JSON object")
    return value


def read_body(raw: bytes, content_type: str, query: Mapping[str, str],
              allowance_ms: float = float("inf")) -> BatchInput:
    """A POST /v1/batches body as it came (what a check worker is sent: costs.py)."""
    if content_type == "text/csv":
        return parse_csv(decode_csv(raw), query, allowance_ms)
    return read_json(raw, allowance_ms)


def parse_csv(text: str, query: Mapping[str, str], allowance_ms: float = float("inf")) -> BatchInput:
    """A CSV body (header row, a `data` column) with the batch defaults in the query string:
    `symbology`, `format`, `company`, `idempotency_key`, `options` and `sheet` (JSON objects).
    An empty query value is not given; other query parameters are ignored."""
    text = text.removeprefix(_BOM)
    batch = _settings(query.get("symbology") or None, query.get("format") or None, _query_json(query, "options"),
                      query.get("company") or None, _query_json(query, "sheet"),
                      query.get("idempotency_key") or None)
    delimiter = _delimiter(_header_line(text))
    records = _records(text, delimiter)
    header = next(records, None)
    if header is None:
        raise _csv_error(1, "no header row (the first line names the columns; one must be \"data\")")
    columns = _columns(header)
    # Read every record (up to the row cap) before checking any: the CSV is wholly readable,
    # and its row count within the limit, before the costly part starts.
    plan: list[BatchRow | _ToCheck] = []
    lines: list[int] = []
    for number, record in enumerate(_capped(_data_records(records, columns)), 1):
        plan.append(_csv_row(batch, columns, number, record, delimiter == ";"))
        lines.append(record.line)
    batch.rows = _check_rows(plan, allowance_ms)
    for row, line in zip(batch.rows, lines):
        if row.error_message is not None:
            # The row number counts data rows only; the line is where an editor shows the row.
            # In the message, not a field: a field would travel with every valid row too.
            row.error_message = f"line {line}: {row.error_message}"
    return batch


def _data_records(records: Iterator[_Record], columns: list[str]) -> Iterator[_Record]:
    """The records after the header. One with fewer cells than columns is fine (its last cells
    not given: some tools drop trailing empty cells); one with more has lost its alignment."""
    for record in records:
        if len(record.cells) > len(columns):
            raise _csv_error(record.line, f"{len(record.cells)} cells, but the header names {len(columns)} columns")
        yield record


def _csv_row(batch: BatchInput, columns: list[str], number: int, record: _Record,
             decimal_comma: bool) -> BatchRow | _ToCheck:
    try:
        fields = _row_fields(columns, record.cells, decimal_comma)
    except _CellError as exc:
        return _rejected(number, exc.code, exc.message, dict(zip(columns, record.cells)).get(_DATA))
    return _to_check(number, _merged(batch, fields["data"], fields["symbology"], fields["format"], fields["options"]))
