"""Reading a CSV as Excel and other tools save it: encoding, separator, quoting, line numbers.

Excel writes cp1251 with ``;`` ("CSV (разделители — точка с запятой)") on Russian Windows, UTF-8 with a BOM
("CSV UTF-8"), UTF-16 with tabs ("Unicode text"); other tools write UTF-8 with commas. Quoted cells may hold
separators, quotes (doubled) and line breaks. Every record keeps the physical line it starts on, so errors can
name it.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass

from ..errors import CsvError

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "книга Excel (XLSX) или другой ZIP-архив"),
    (b"\xd0\xcf\x11\xe0", "книга Excel 97–2003 (XLS)"),
    (b"%PDF", "документ PDF"),
    (b"\x89PNG", "изображение PNG"),
    (b"\xff\xd8\xff", "изображение JPEG"),
    (b"GIF8", "изображение GIF"),
    (b"{\\rtf", "документ RTF"),
)
HOW_TO_SAVE = ("Откройте его в Excel и сохраните как «CSV (разделители — точка с запятой)» или «CSV UTF-8», "
               "затем загрузите CSV-файл.")


@dataclass(frozen=True)
class Record:
    line: int  # physical line where the record starts (1-based; the header is line 1)
    cells: list[str]


@dataclass(frozen=True)
class Table:
    encoding: str
    delimiter: str
    header: Record
    records: list[Record]


_MARKUP: tuple[tuple[bytes, str], ...] = (  # text, but not a table: what Excel's other "Save as" types write
    (b"progid=\"excel.sheet\"", "таблица Excel в формате XML (XML Spreadsheet 2003)"),
    (b"<?xml", "документ XML"),
    (b"<!doctype html", "веб-страница (HTML)"),
    (b"<html", "веб-страница (HTML)"),
    (b"<table", "веб-страница (HTML)"),
)


def what_is_it(data: bytes) -> str | None:
    """A human name of a file that is not a CSV table (``None`` for text that may be one)."""
    for magic, name in _SIGNATURES:
        if data.startswith(magic):
            return name
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<"):
        for marker, name in _MARKUP:
            if marker in head:
                return name
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None  # UTF-16 text with a BOM
    if b"\x00" in data[:4096]:
        return "двоичный файл"
    return None


def decode(data: bytes, filename: str = "файл") -> tuple[str, str]:
    kind = what_is_it(data)
    if kind:
        raise CsvError(f"Файл «{filename}» — это {kind}, а не таблица CSV. {HOW_TO_SAVE}", code="NOT_A_CSV")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        encoding = single_byte_cyrillic(data)
        return data.decode(encoding, errors="replace"), encoding


# Windows Excel writes cp1251; Excel for Mac's legacy "CSV" writes MacCyrillic; old DOS and Unix tools cp866 and
# KOI8-R. The same bytes are letters in several of them, so each is scored on how Russian the text reads.
SINGLE_BYTE_CYRILLIC = ("cp1251", "mac_cyrillic", "cp866", "koi8_r")


def _russian_score(text: str) -> int:
    """Russian text is mostly lowercase Russian letters: those count double, capitals once."""
    lower = sum(1 for ch in text if "а" <= ch <= "я" or ch == "ё")
    upper = sum(1 for ch in text if "А" <= ch <= "Я" or ch == "Ё")
    return 2 * lower + upper


def single_byte_cyrillic(data: bytes) -> str:
    """The single-byte encoding that reads most like Russian (cp1251 on a tie: Windows Excel's)."""
    sample = data[:65536]
    scores = {enc: _russian_score(sample.decode(enc, errors="replace")) for enc in SINGLE_BYTE_CYRILLIC}
    return max(SINGLE_BYTE_CYRILLIC, key=lambda enc: (scores[enc], enc == "cp1251"))


def _split_count(line: str, delimiter: str) -> int:
    try:
        return len(next(csv.reader([line], delimiter=delimiter)))
    except (StopIteration, csv.Error):
        return 1


def sniff_delimiter(text: str) -> str:
    """The separator that splits most of the first lines into the same number (at least two) of cells.

    Scored on the most common cell count rather than on the first line, so a title row above the header
    ("Спецификация к заказу №15" with no separators) does not decide it.
    """
    lines = [ln for ln in text.splitlines() if ln.strip()][:20]
    if not lines:
        return ";"
    best, best_score = ";", (0, 0)
    for delimiter in (";", "\t", ",", "|"):
        counts = Counter(n for n in (_split_count(ln, delimiter) for ln in lines) if n >= 2)
        if not counts:
            continue
        width, agreeing = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
        score = (agreeing, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def separator_hint(text: str) -> str | None:
    """Excel's ``sep=;`` first line (written by some exports, honoured by Excel when opening)."""
    first = text.split("\n", 1)[0].strip().strip('"')
    m = re.fullmatch(r"sep=(.)", first, flags=re.I)
    return m.group(1) if m else None


def read_table(data: bytes, filename: str = "файл") -> Table:
    text, encoding = decode(data, filename)
    if not text.strip():
        raise CsvError(f"Файл «{filename}» пуст", code="EMPTY_CSV")
    hint = separator_hint(text)
    if hint:
        newline = text.find("\n")
        text = "" if newline < 0 else "\n" + text[newline + 1:]  # line numbers stay physical
    delimiter = hint or sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', doublequote=True,
                        strict=False)
    records: list[Record] = []
    start = 1
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                records.append(Record(start, [c.replace("\r\n", "\n").replace("\r", "\n").strip() for c in cells]))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise CsvError(f"Файл «{filename}», строка {start}: не удалось разобрать ({exc})", code="BAD_CSV") from None
    if not records:
        raise CsvError(f"Файл «{filename}» пуст", code="EMPTY_CSV")
    return Table(encoding, delimiter, records[0], records[1:])
