"""Lead files (CSV/XLSX): stored on upload, read as a stream, previewed by a job, imported.

An uploaded file is kept under MEDIA_ROOT/lead-imports while its preview job reads it and until
the import job reads it (and deletes it) — and no longer than PREVIEW_MAX_AGE: a preview nobody
confirmed leaves no list of phone numbers behind (beat purges them, core.retention), and a job
that fails for good deletes its file at once.

Reading is bounded, whatever the file claims to be:
- at most `LEAD_IMPORT_MAX_ROWS` rows (250,000 by default) and MAX_COLUMNS columns;
- a CSV is decoded and parsed a line at a time (lines of at most MAX_LINE_CHARS);
- a workbook is read with openpyxl in read-only mode, one row at a time; before that its
  archive is checked without unpacking it whole (at most XLSX_PARTS_MAX_BYTES of parts other
  than sheets, which openpyxl reads whole — the shared strings above all) and each sheet is
  scanned as a stream (no DTD, at most XLSX_MAX_CELLS_PER_ROW cells a row, no cell text
  longer than Excel's 32,767 characters, no more cells than the row limit allows);
- a preview keeps counters, the first PREVIEW_ERRORS bad rows and PREVIEW_SAMPLE good ones,
  and the set of distinct phone numbers (one short string per lead) — never the rows."""

from __future__ import annotations

import codecs
import csv
import io
import re
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import suppress
from datetime import timedelta
from pathlib import Path
from typing import IO, Any
from xml.parsers import expat

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from callcenter.models import CallRecord
from callcenter.services import lead_row_clean

IMPORT_DIR = Path(settings.MEDIA_ROOT) / "lead-imports"
PREVIEW_MAX_AGE = timedelta(hours=24)

MAX_COLUMNS = 64  # a lead has 37 fields
MAX_LINE_CHARS = 100_000  # a CSV line; a lead's fields fit in a tenth of it
EXCEL_MAX_ROWS = 1_048_576
XLSX_MAX_MEMBERS = 1_000
XLSX_PARTS_MAX_BYTES = 64 * 1024 * 1024
XLSX_MAX_CELLS_PER_ROW = 1_000
XLSX_MAX_CELL_CHARS = 32_767
SNIFF_CHARS = 4_096
PREVIEW_ERRORS = 1_000  # bad rows listed; the others are counted
PREVIEW_SAMPLE = 10
REASON_MAX_CHARS = 500
SAMPLE_FIELDS = ("customer_name", "customer_last_name", "tel1", "email", "city")
_TOKEN = re.compile(r"[0-9a-f]{32}\.(csv|xlsx)")
_SHEET = re.compile(r"xl/worksheets/[^/]+\.xml")


# --- stored files ------------------------------------------------------------------------------
def lead_file_store(upload) -> str:
    """Write an uploaded file (read in chunks, never whole) under IMPORT_DIR; answers its token,
    the stored file's name."""
    IMPORT_DIR.mkdir(parents=True, exist_ok=True)
    suffix = ".xlsx" if (upload.name or "").lower().endswith(".xlsx") else ".csv"
    token = f"{uuid.uuid4().hex}{suffix}"
    with (IMPORT_DIR / token).open("xb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return token


def lead_file_path(token: str) -> Path | None:
    """The stored file of `token`; None for a token that is not one, or a file gone (imported,
    purged after 24 hours, or removed when its job failed)."""
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        return None
    path = IMPORT_DIR / token
    return path if path.is_file() else None


def lead_file_remove(token: str) -> None:
    if isinstance(token, str) and _TOKEN.fullmatch(token):
        (IMPORT_DIR / token).unlink(missing_ok=True)


def lead_import_previews_purge() -> int:
    """Delete the previewed files older than PREVIEW_MAX_AGE; answers how many."""
    if not IMPORT_DIR.is_dir():
        return 0
    oldest = time.time() - PREVIEW_MAX_AGE.total_seconds()
    deleted = 0
    for stored in IMPORT_DIR.iterdir():
        try:
            if stored.is_file() and stored.stat().st_mtime < oldest:
                stored.unlink()
                deleted += 1
        except FileNotFoundError:  # its import job took it meanwhile
            continue
    return deleted


# --- reading, bounded ----------------------------------------------------------------------
def _not_csv() -> ValidationError:
    return ValidationError(_("The file is not a readable CSV file."))


def _not_utf8() -> ValidationError:
    return ValidationError(_("The file is not UTF-8 text (CSV)."))


def _not_xlsx() -> ValidationError:
    return ValidationError(_("The file is not a readable XLSX workbook."))


def _xlsx_too_large() -> ValidationError:
    return ValidationError(
        _(
            "The workbook is too large to be read safely (too many cells, or too much text "
            "once unpacked): save it as CSV, or split it."
        )
    )


def _too_many_rows(limit: int) -> ValidationError:
    return ValidationError(
        _("The file has more than %(max)d rows: split it into files of at most %(max)d rows.")
        % {"max": limit}
    )


def _too_many_columns() -> ValidationError:
    return ValidationError(
        _("The file has more than %(max)d columns: a lead has at most 37.") % {"max": MAX_COLUMNS}
    )


def lead_file_check(*, path: Path) -> None:
    """The quick checks of an upload, made in the request before its preview job is started:
    a workbook's archive (its directory only, nothing unpacked), a CSV's first 64 KB. A
    ValidationError says what is wrong."""
    with path.open("rb") as stream:
        if path.suffix == ".xlsx":
            _xlsx_check(stream, scan=False)
            return
        decoder = codecs.getincrementaldecoder("utf-8-sig")()
        try:
            decoder.decode(stream.read(64 * 1024), final=False)
        except UnicodeDecodeError as exc:
            raise _not_utf8() from exc


def lead_file_rows(
    *, file: IO[bytes] | Any, name: str | None = None, max_rows: int | None = None
) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a CSV or XLSX file as (line, {column: value}), read one at a time; the first
    row names the columns (customer_name, tel1, …); blank rows are skipped. A file that cannot
    be read, or goes over the limits, raises ValidationError when the reading gets there."""
    name = (name or getattr(file, "name", "") or "").lower()
    stream = getattr(file, "file", file)  # an uploaded file: the file under it
    with suppress(AttributeError, OSError):
        stream.seek(0)
    limit = settings.LEAD_IMPORT_MAX_ROWS if max_rows is None else max_rows
    lines = _xlsx_lines(stream) if name.endswith(".xlsx") else _csv_lines(stream)
    try:
        header: list[str] | None = None
        rows = 0
        for number, cells in enumerate(lines, start=1):
            if header is None:
                header = [str(column).strip().lower() for column in cells]
                if sum(1 for column in header if column) > MAX_COLUMNS:
                    raise _too_many_columns()
                continue
            if number > 2 * limit + 1:  # blank lines count too, beyond twice the limit
                raise _too_many_rows(limit)
            if not any(str(c).strip() for c in cells):
                continue
            rows += 1
            if rows > limit:
                raise _too_many_rows(limit)
            width = min(len(header), len(cells))
            yield number, {header[i]: cells[i] for i in range(width) if header[i]}
    finally:
        lines.close()


def call_file_rows(*, file) -> list[tuple[int, dict[str, Any]]]:
    """Rows of a CSV or XLSX file as (line, {column: value}); the first row names the columns
    with the document's field names (customer_name, tel1, …). A file that cannot be read at
    all, or is over the limits, is a ValidationError. Read as a stream (`lead_file_rows`);
    this list is for small files and tests."""
    return list(lead_file_rows(file=file))


def _csv_lines(stream: IO[bytes]) -> Iterator[list[str]]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        try:
            head = text.read(SNIFF_CHARS)
            text.seek(0)
        except UnicodeDecodeError as exc:
            raise _not_utf8() from exc
        dialect: type[csv.Dialect] | csv.Dialect = csv.excel
        with suppress(csv.Error):  # one column, or rows too uneven to tell: commas
            dialect = csv.Sniffer().sniff(head, delimiters=",;\t")
        try:
            yield from csv.reader(_bounded_lines(text), dialect)
        except UnicodeDecodeError as exc:
            raise _not_utf8() from exc
        except csv.Error as exc:  # e.g. a cell over the csv module's field size limit
            raise _not_csv() from exc
    finally:
        with suppress(ValueError):
            text.detach()  # the caller's stream stays open


def _bounded_lines(text: io.TextIOBase) -> Iterator[str]:
    while line := text.readline(MAX_LINE_CHARS + 1):
        if len(line) > MAX_LINE_CHARS:
            raise _not_csv()
        yield line


def _xlsx_lines(stream: IO[bytes]) -> Iterator[list[str]]:
    """The active sheet's rows, the header in full and the others up to MAX_COLUMNS, from
    openpyxl's read-only mode (rows parsed one at a time, never the sheet)."""
    from openpyxl import load_workbook

    _xlsx_check(stream, scan=True)
    try:
        stream.seek(0)
        book = load_workbook(stream, read_only=True, data_only=True)
    except ValidationError:
        raise
    except Exception as exc:  # an untrusted archive: whatever openpyxl trips on
        raise _not_xlsx() from exc
    try:
        sheet = book.active
        # The <dimension> a file states may be wrong (or crafted): read the rows it has.
        sheet.reset_dimensions()
        header = next(sheet.iter_rows(max_row=1, values_only=True), ())
        yield _cell_texts(header)
        for row in sheet.iter_rows(min_row=2, max_col=MAX_COLUMNS, values_only=True):
            yield _cell_texts(row)
    except ValidationError:
        raise
    except Exception as exc:
        raise _not_xlsx() from exc
    finally:
        book.close()


def _cell_texts(row) -> list[str]:
    if row.count(None) == len(row):
        return []
    return ["" if cell is None else str(cell) for cell in row]


def _xlsx_check(stream: IO[bytes], *, scan: bool) -> None:
    """Refuse a workbook that would make openpyxl read too much: its directory (the sizes of
    its parts, unpacked), and with `scan` every XML part streamed through expat."""
    try:
        stream.seek(0)
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
            names = {m.filename for m in members}
            if len(members) > XLSX_MAX_MEMBERS or "xl/workbook.xml" not in names:
                raise _not_xlsx()
            if sum(m.file_size for m in members if not _SHEET.fullmatch(m.filename)) > (
                XLSX_PARTS_MAX_BYTES
            ):
                raise _xlsx_too_large()
            if scan:
                for member in members:
                    if member.filename.endswith((".xml", ".rels")):
                        _xml_scan(archive, member)
    except ValidationError:
        raise
    except Exception as exc:  # not a zip, a broken one, an unknown compression…
        raise _not_xlsx() from exc


class _Scan:
    """Counts what openpyxl would hold at once while a part is streamed through expat."""

    def __init__(self, *, sheet: bool, text_bounded: bool) -> None:
        self.sheet = sheet
        self.text_bounded = text_bounded
        self.rows = 0
        self.cells = 0
        self.cells_in_row = 0
        self.text = 0
        self.max_cells = (settings.LEAD_IMPORT_MAX_ROWS + 1) * MAX_COLUMNS

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.text = 0
        if not self.sheet:
            return
        local = name.rpartition(":")[2]
        if local == "row":
            self.rows += 1
            self.cells_in_row = 0
            number = attrs.get("r", "")
            if self.rows > EXCEL_MAX_ROWS or (
                number and (not number.isdigit() or int(number) > EXCEL_MAX_ROWS)
            ):
                raise _xlsx_too_large()
        elif local == "c":
            self.cells += 1
            self.cells_in_row += 1
            if self.cells_in_row > XLSX_MAX_CELLS_PER_ROW or self.cells > self.max_cells:
                raise _xlsx_too_large()

    def end(self, name: str) -> None:
        self.text = 0

    def chars(self, data: str) -> None:
        self.text += len(data)
        if self.text_bounded and self.text > XLSX_MAX_CELL_CHARS:
            raise _xlsx_too_large()


def _refuse_declarations(*args) -> None:
    raise _not_xlsx()  # a workbook never declares a DTD or entities


def _xml_scan(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    sheet = bool(_SHEET.fullmatch(member.filename))
    scan = _Scan(sheet=sheet, text_bounded=sheet or member.filename == "xl/sharedStrings.xml")
    parser = expat.ParserCreate()
    parser.StartElementHandler = scan.start
    parser.EndElementHandler = scan.end
    parser.CharacterDataHandler = scan.chars
    parser.StartDoctypeDeclHandler = _refuse_declarations
    parser.EntityDeclHandler = _refuse_declarations
    with archive.open(member) as part:
        while chunk := part.read(1024 * 1024):
            parser.Parse(chunk, False)
    parser.Parse(b"", True)


# --- the preview -----------------------------------------------------------------------------
def lead_preview(
    *,
    campaign,
    rows: Iterator[tuple[int, dict[str, str]]],
    on_row: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """What importing these rows would do, row by row: new leads, leads merged into ones the
    campaign has (the same phone twice is one lead), and the bad rows with line and reason.
    Keeps counters, the first PREVIEW_ERRORS bad rows and PREVIEW_SAMPLE good ones."""
    report: dict[str, Any] = {
        "rows": 0,
        "created": 0,
        "merged": 0,
        "bad": 0,
        "valid": 0,
        "errors": [],
        "sample": [],
    }
    phones: set[str] = set()
    pending: list[str] = []

    def count_merged() -> None:
        report["merged"] += CallRecord.objects.filter(campaign=campaign, tel1__in=pending).count()
        pending.clear()

    for line, row in rows:
        report["rows"] += 1
        if on_row is not None:
            on_row(report["rows"])
        data, reason = lead_row_clean(row)
        if data is None:
            report["bad"] += 1
            if len(report["errors"]) < PREVIEW_ERRORS:
                report["errors"].append([line, _shortened(reason)])
            continue
        phone = data["tel1"]
        if phone in phones:
            continue  # the last row of a phone wins, as in the import
        phones.add(phone)
        pending.append(phone)
        if len(pending) >= 500:
            count_merged()
        if len(report["sample"]) < PREVIEW_SAMPLE:
            report["sample"].append(
                [line, {name: _shortened(str(data.get(name) or "")) for name in SAMPLE_FIELDS}]
            )
    count_merged()
    report["valid"] = len(phones)
    report["created"] = len(phones) - report["merged"]
    return report


def _shortened(text: str) -> str:
    return text if len(text) <= REASON_MAX_CHARS else f"{text[: REASON_MAX_CHARS - 1]}…"
