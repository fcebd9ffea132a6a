"""Text for people, in Chinese (the default) or English: text tables, durations, terminal tables.

One place for what every layer above shows:

- `Texts`: a table of interface texts, each key a (Chinese, English) pair, and its one
  lookup `Texts.text(key, lang)`; a missing key is a clear `UnknownText`.
- `in_language`: the one choice between a Chinese and an English text (the procedure's
  own bilingual labels use it too).
- `format_duration`: a span of time as '2 h 10 min' / '2小时10分钟'.
- `display_width` and `text_table`: plain-text tables whose columns stay straight when
  Chinese and Latin text are mixed (a CJK character takes two terminal columns, a
  combining mark none) — widths from the `wcwidth` library.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Literal
from unicodedata import category, east_asian_width

Language = Literal["zh", "en"]
#: the languages of every text, Chinese first (the default)
LANGUAGES: tuple[Language, ...] = ("zh", "en")


class UnknownText(LookupError):
    """A key no text table holds: a programming error, named with the table and the nearest keys."""


def in_language(zh: str, en: str, lang: Language) -> str:
    """`zh` or `en`, as `lang` asks; any other language is refused, never silently English."""
    if lang == "zh":
        return zh
    if lang == "en":
        return en
    raise ValueError(f"unknown language {lang!r} (use 'zh' or 'en')")


class Texts:
    """One table of interface texts: key -> (Chinese, English).

    `where` names the table in errors (its module). Texts may hold `str.format` fields;
    both languages of a key are filled from the same ones (a language may leave one out).
    """

    def __init__(self, where: str, table: Mapping[str, tuple[str, str]]):
        for key, pair in table.items():
            if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(p, str) and p for p in pair)):
                raise TypeError(f"{where}: text {key!r} must be a (Chinese, English) pair of non-empty strings")
        self.where = where
        self._table = dict(table)

    def text(self, key: str, lang: Language = "zh") -> str:
        """The text `key` in `lang`."""
        try:
            zh, en = self._table[key]
        except KeyError:
            import difflib  # here: only a programming error needs it

            near = difflib.get_close_matches(key, self._table, n=3)
            hint = f" (did you mean {', '.join(map(repr, near))}?)" if near else ""
            raise UnknownText(f"no text {key!r} in {self.where}{hint}") from None
        return in_language(zh, en, lang)

    def __contains__(self, key: object) -> bool:
        return key in self._table


def format_duration(value: timedelta, lang: Language = "zh", *, elapsed: bool = False) -> str:
    """A span of time for people: '2 h 10 min' / '2小时10分钟', to the minute.

    An allowance of zero (a timetable's "at once") is 'immediately' / '立即'. An `elapsed`
    time (SLA time counted, by how much a deadline was missed, a mean time to resolve) is
    an amount, so zero is '0 s' / '0秒', never 'immediately'. Under a minute is given in
    seconds. Days are shown as hours: most spans here are working time, where a day is
    not 24 hours. A negative span has a leading minus.
    """
    total = value.total_seconds()
    size = abs(total)
    if size < 60:
        seconds = int(size)
        if seconds == 0 and not elapsed:
            return in_language("立即", "immediately", lang)
        sign = "-" if total < 0 and seconds else ""
        return sign + in_language(f"{seconds}秒", f"{seconds} s", lang)
    hours, minutes = divmod(int(round(size / 60)), 60)
    zh = (f"{hours}小时" if hours else "") + (f"{minutes}分钟" if minutes else "")
    en = " ".join(part for part in (f"{hours} h" if hours else "", f"{minutes} min" if minutes else "") if part)
    return ("-" if total < 0 else "") + in_language(zh, en, lang)


#: C0 and C1 control characters: they move the cursor rather than take a column
_CONTROLS = str.maketrans("", "", "".join(map(chr, [*range(0x20), *range(0x7F, 0xA0)])))
#: East Asian Width classes of two columns; the categories left to wcwidth (marks and format characters,
#: which take none, and code points unassigned in this Python's Unicode)
_WIDE = frozenset({"W", "F"})
_MARKS = frozenset({"Mn", "Me", "Mc", "Cf", "Cn"})
#: U+3164 is wide but default-ignorable: wcwidth gives it no column
_HANGUL_FILLER = "\u3164"
#: the emoji and symbol blocks up to the supplementary ideographs: their modifiers and sequences
#: (skin tones, flags) are wcwidth's to measure
_EMOJI, _IDEOGRAPHS = "\U0001F000", "\U00020000"
#: what keeps a table cell on one line
_ONE_LINE = str.maketrans({"\n": " ", "\r": " ", "\t": " "})


def display_width(text: str) -> int:
    """Terminal columns `text` takes: an East Asian wide or full-width character two, a
    combining mark or zero-width joiner none, an emoji two (wcwidth's Unicode tables).
    Control characters take none (wcwidth would give up on the whole string)."""
    text = text.translate(_CONTROLS)
    width = _plain_width(text)
    if width is not None:
        return width
    # imported here: its tables cost a process some 40 ms at start (a third of what
    # `escalator deadlines` adds to the interpreter's own), and the daemon, which imports
    # this module through the procedure, never draws a table
    from wcwidth import wcswidth

    return max(wcswidth(text), 0)


def _plain_width(text: str) -> int | None:
    """The width of text made only of characters whose width no table is needed for — below
    U+0300 (Latin, before the combining marks: one column) and East Asian wide or full-width
    ones that are no mark, format character or emoji (two: CJK ideographs, kana, Hangul,
    full-width punctuation), none of which joins its neighbour — as wcwidth gives it (tests/unit/test_text.py compares them character by
    character); None for any other text, which wcwidth measures."""
    width = 0
    for char in text:
        if char < "\u0300":
            width += 1
        elif (east_asian_width(char) in _WIDE and category(char) not in _MARKS and char != _HANGUL_FILLER
              and not _EMOJI <= char < _IDEOGRAPHS):
            width += 2
        else:
            return None
    return width


def text_table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, indent: str = "") -> str:
    """A plain-text table: columns aligned by display width, two spaces apart, a rule under
    the header, no trailing spaces. A cell's line breaks and tabs become spaces."""
    lines = [[str(cell).translate(_ONE_LINE) for cell in row] for row in (headers, *rows)]
    widths = [max(display_width(line[i]) for line in lines) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        padded = (cell + " " * (width - display_width(cell)) for cell, width in zip(cells, widths, strict=True))
        return (indent + "  ".join(padded)).rstrip()

    return "\n".join([line(lines[0]), indent + "  ".join("-" * w for w in widths), *map(line, lines[1:])])
