"""The film list from the KOBIS website's spreadsheet export, for users without an API key.

    python -m genre_model.collect films --xlsx KOBIS_영화정보.xlsx

Real exports put a title and notices above the header row, so the header row is
searched for rather than assumed to be the first.
"""

from __future__ import annotations

import hashlib
import logging
import zipfile
from pathlib import Path

from genre_model.collect.errors import CollectError
from genre_model.collect.films import Film, parse_year, unique_by_id

logger = logging.getLogger(__name__)

SHEET = "영화정보 리스트"
COLUMNS = ("영화명", "영화명(영문)", "제작연도", "제작국가", "유형", "장르", "제작상태", "감독", "제작사")
HEADER_SEARCH_ROWS = 30


def read_kobis_export(path: Path) -> list[Film]:
    """The films in a KOBIS export; CollectError when the file is not one."""
    sheet_name, rows = _sheet_rows(path)
    header_at = _header_row_index(rows, path, sheet_name)
    header = [_cell_text(cell, squeeze=True) for cell in rows[header_at]]
    column_of = {name: header.index(name) for name in COLUMNS}
    source = f"KOBIS website export ({path.name})"
    films = []
    for row in rows[header_at + 1 :]:
        cells = {name: _cell_text(row[index]) if index < len(row) else "" for name, index in column_of.items()}
        if cells["영화명"]:
            films.append(film_from_export_row(cells, source))
    if not films:
        raise CollectError(f"{path}: no films below the header row of sheet '{sheet_name}'")
    return unique_by_id(films)


def film_from_export_row(cells: dict[str, str], source: str) -> Film:
    directors = tuple(name.strip() for name in cells["감독"].split(",") if name.strip())
    year = parse_year(cells["제작연도"])
    # The export has no movieCd: the id is a hash of what identifies the film, so it is stable across exports.
    identity = "|".join((cells["영화명"], str(year), ",".join(directors), cells["제작국가"]))
    return Film(
        id="xlsx-" + hashlib.sha1(identity.encode("utf-8")).hexdigest()[:16],
        title=cells["영화명"],
        title_en=cells["영화명(영문)"],
        year=year,
        nation=cells["제작국가"],
        type=cells["유형"],
        genres=cells["장르"],
        status=cells["제작상태"],
        directors=directors,
        source=source,
    )


def _sheet_rows(path: Path) -> tuple[str, list[tuple]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    if not path.is_file():
        raise CollectError(f"{path} not found")
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as error:
        raise CollectError(
            f"cannot read {path} as an .xlsx spreadsheet ({error}); export the list from the KOBIS website as Excel"
        ) from None
    if SHEET in workbook.sheetnames:
        sheet = workbook[SHEET]
    else:
        sheet = workbook.worksheets[0]
        logger.info("%s has no sheet '%s'; reading its first sheet '%s'", path, SHEET, sheet.title)
    rows = [tuple(row) for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    return sheet.title, rows


def _header_row_index(rows: list[tuple], path: Path, sheet_name: str) -> int:
    if not rows:
        raise CollectError(f"{path}: sheet '{sheet_name}' is empty")
    searched = rows[:HEADER_SEARCH_ROWS]
    found = [set(_cell_text(cell, squeeze=True) for cell in row) for row in searched]
    best = max(range(len(searched)), key=lambda index: len(found[index] & set(COLUMNS)))
    missing = [name for name in COLUMNS if name not in found[best]]
    if missing:
        raise CollectError(
            f"{path}: no header row with the columns {', '.join(COLUMNS)} in the first {len(searched)} rows of sheet "
            f"'{sheet_name}'; the closest (row {best + 1}) lacks {', '.join(missing)}"
        )
    return best


def _cell_text(value: object, *, squeeze: bool = False) -> str:
    """A cell as text; `squeeze` drops all white space, as header cells sometimes wrap."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return "".join(text.split()) if squeeze else text
