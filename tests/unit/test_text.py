"""mapping.text: the text lookup, the duration formatter, display width and the table renderer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mapping.procedure import Label, parse_duration
from mapping.text import Texts, UnknownText, display_width, format_duration, in_language, text_table

WORDS = Texts("tests.words", {"ticket": ("事件", "Incident"), "due": ("到期 {day}", "Due {day}")})


def test_a_text_is_looked_up_by_key_in_either_language_chinese_by_default() -> None:
    assert WORDS.text("ticket") == "事件"
    assert WORDS.text("ticket", "zh") == "事件"
    assert WORDS.text("ticket", "en") == "Incident"
    assert WORDS.text("due", "en").format(day="Mon") == "Due Mon"
    assert "ticket" in WORDS and "title" not in WORDS


def test_a_missing_key_names_the_table_and_the_nearest_keys() -> None:
    with pytest.raises(UnknownText) as caught:
        WORDS.text("tickets", "en")
    assert str(caught.value) == "no text 'tickets' in tests.words (did you mean 'ticket'?)"
    with pytest.raises(UnknownText, match=r"^no text 'xyz' in tests\.words$"):
        WORDS.text("xyz", "zh")


def test_an_unknown_language_is_refused_not_read_as_english() -> None:
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        WORDS.text("ticket", "fr")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown language 'de'"):
        Label(zh="事件", en="incident").in_("de")  # type: ignore[arg-type]
    assert in_language("立即", "immediately", "en") == "immediately"


@pytest.mark.parametrize("entry", [("只有中文",), ("事件", ""), ["事件", "Incident"], ("事件", 1)])
def test_a_table_of_another_shape_is_refused_when_it_is_built(entry: object) -> None:
    with pytest.raises(TypeError, match=r"tests\.bad: text 'x' must be a \(Chinese, English\) pair"):
        Texts("tests.bad", {"x": entry})  # type: ignore[dict-item]


@pytest.mark.parametrize(("value", "zh", "en"), [
    (timedelta(0), "立即", "immediately"),
    (timedelta(seconds=0.4), "立即", "immediately"),
    (timedelta(seconds=45), "45秒", "45 s"),
    (timedelta(minutes=1), "1分钟", "1 min"),
    (timedelta(seconds=89), "1分钟", "1 min"),  # to the nearest minute
    (timedelta(minutes=45), "45分钟", "45 min"),
    (timedelta(hours=4), "4小时", "4 h"),
    (timedelta(hours=2, minutes=10), "2小时10分钟", "2 h 10 min"),
    (timedelta(hours=8, minutes=48), "8小时48分钟", "8 h 48 min"),
    (timedelta(days=2), "48小时", "48 h"),  # working time: days stay hours
    (timedelta(days=1, hours=2, minutes=5), "26小时5分钟", "26 h 5 min"),
    (timedelta(minutes=-5), "-5分钟", "-5 min"),
    (timedelta(hours=-1, minutes=-30), "-1小时30分钟", "-1 h 30 min"),
    (timedelta(seconds=-20), "-20秒", "-20 s"),
])
def test_durations_in_both_languages(value: timedelta, zh: str, en: str) -> None:
    assert format_duration(value) == zh
    assert format_duration(value, "zh") == zh
    assert format_duration(value, "en") == en


@pytest.mark.parametrize(("value", "zh", "en"), [
    (timedelta(0), "0秒", "0 s"),
    (timedelta(seconds=30), "30秒", "30 s"),
    (timedelta(hours=1, minutes=5), "1小时5分钟", "1 h 5 min"),
])
def test_an_elapsed_time_is_an_amount_never_immediately(value: timedelta, zh: str, en: str) -> None:
    assert format_duration(value, "zh", elapsed=True) == zh
    assert format_duration(value, "en", elapsed=True) == en


@pytest.mark.parametrize("value", [timedelta(0), timedelta(minutes=45), timedelta(hours=4),
                                   timedelta(hours=26, minutes=5)])
def test_an_english_duration_reads_back_as_a_profile_duration(value: timedelta) -> None:
    assert parse_duration(format_duration(value, "en")) == value


@pytest.mark.parametrize(("text", "width"), [
    ("severity", 8),
    ("一级事件", 8),  # CJK: two columns each
    ("PC终端", 6),
    ("80%以上", 7),
    ("ｆｕｌｌ", 8),  # full-width Latin
    ("e\u0301", 1),  # e + combining acute accent: one column
    ("\u0301", 0),  # a combining mark alone takes none
    ("事\u0301件", 4),
    ("👍", 2),  # emoji: two
    ("ok 👍", 5),
    ("a\tb\n", 2),  # control characters take none, and do not make the width -1
    ("", 0),
])
def test_display_width(text: str, width: int) -> None:
    assert display_width(text) == width


def test_a_table_aligns_mixed_chinese_latin_combining_and_emoji_cells() -> None:
    table = text_table(["代码", "名称", "n"],
                       [["1", "网络", 3], ["1.10", "PC终端", 12], ["2", "cafe\u0301 👍", ""]])
    assert table.splitlines() == [
        "代码  名称     n",
        "----  -------  --",
        "1     网络     3",
        "1.10  PC终端   12",
        "2     cafe\u0301 👍",  # five characters, four columns, then the emoji's two
    ]
    # each column starts at the same terminal column on every line, whatever its characters
    header, rule, *rows = table.splitlines()
    cells_after_the_first = [["名称", "n"], ["网络", "3"], ["PC终端", "12"], ["cafe\u0301 👍"]]
    for line, cells in zip([header, *rows], cells_after_the_first, strict=True):
        starts = [display_width(line[:line.index(cell)]) for cell in cells]
        assert starts == [6, 15][:len(cells)], line


def test_a_table_with_indent_and_no_rows_and_a_cell_on_one_line() -> None:
    assert text_table(["级别", "name"], [], indent="  ") == "  级别  name\n  ----  ----"
    assert text_table(["a", "b"], [["x\ny", "z"]]).splitlines()[2] == "x y  z"


def test_the_width_measured_without_wcwidth_is_wcwidth_s_for_every_character_it_measures() -> None:
    # `display_width` measures plain Latin and East Asian wide text itself (wcwidth's tables cost a
    # command's start some 40 ms) and leaves the rest to wcwidth: for every code point it measures
    # itself, the answer must be wcwidth's
    from wcwidth import wcswidth

    from mapping.text import _plain_width
    measured = 0
    for code in [*range(0xA0, 0xD800), *range(0xE000, 0x110000)]:
        char = chr(code)
        width = _plain_width(char)
        if width is not None:
            measured += 1
            assert width == wcswidth(char), f"U+{code:04X}: {width} columns, wcwidth says {wcswidth(char)}"
    assert measured > 100_000  # Latin-1 and the CJK blocks, at least
    assert _plain_width("项目经理 project manager（周五）") == 32 == wcswidth("项目经理 project manager（周五）")
    for joined in ("e\u0301", "👍🏽", "🇨🇳", "⌚\ufe0f", "한\u11a8"):  # a mark, a skin tone, a flag, VS16, a jamo
        assert _plain_width(joined) is None and display_width(joined) == wcswidth(joined)
