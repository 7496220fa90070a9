"""The languages of the sheets: one Language record each, in one registry, every one with every word.

Each language's words file has every key English has, the same values in each sentence (the names in
its ``\\VAR{...}``), no statement of the templates (``\\BLOCK``) in any word — a translation is words
only — and a title for every registered cell and head. Numbers are the language's: the decimal mark
comes from the record, never from a guess (the old sheets found the language from the decimal mark,
so a second language with a decimal comma came out Indonesian)."""

import re
from dataclasses import replace

import pytest

from bpttlab.derivations import CELLS, HEADS
from bpttlab.derivations.heads import head
from bpttlab.reports.sheets.languages import LANGUAGES, language, register_language, unregister_language
from bpttlab.reports.sheets.numbers import number

ENGLISH = LANGUAGES["en"]


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_every_language_has_every_word_with_the_same_values(code):
    lang = LANGUAGES[code]
    assert set(lang.words) == set(ENGLISH.words), set(lang.words) ^ set(ENGLISH.words)
    for key in ENGLISH.words:
        assert lang.placeholders(key) == ENGLISH.placeholders(key), key
    assert set(lang.nouns) == set(ENGLISH.nouns) and set(lang.terms) == set(ENGLISH.terms)
    assert len(lang.numbers) == 21
    fields = lambda text: sorted(re.findall(r"\{(\w*)\}", text))  # noqa: E731 - the format fields
    assert set(lang.figures) == set(ENGLISH.figures)
    for family, words in ENGLISH.figures.items():
        assert set(lang.figures[family]) == set(words), family
        for key, text in words.items():
            assert fields(lang.figures[family][key]) == fields(text), (family, key)


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_a_translation_is_words_only(code):
    lang = LANGUAGES[code]
    for key, text in lang.words.items():
        assert r"\BLOCK" not in text and "%%" not in text, key
        for value in re.findall(r"\\VAR\{(.*?)\}", text):
            assert " if " not in value and " for " not in value, (key, value)


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_every_registered_cell_and_head_has_a_title(code):
    lang = LANGUAGES[code]
    titles = {c.title for c in CELLS.values()} | {head(name).title for name in HEADS}
    missing = sorted(t for t in titles if f"titles.{t}" not in lang.words)
    assert not missing, missing


def test_the_decimal_mark_is_the_languages_not_a_guess():
    german = replace(ENGLISH, code="de-test", decimal_mark=",", thousands_separator=".",
                     interval_separator=";")
    register_language(german)
    try:
        assert number(0.25, "de-test", 2) == "0{,}25" and number(0.25, "id", 2) == "0{,}25"
        assert language("de-test").grouped(5376) == "5.376" and language("de-test").interval(0, 1) == "(0; 1)"
        assert language("de-test") is german  # a decimal comma does not make it Indonesian
    finally:
        unregister_language("de-test")
    with pytest.raises(ValueError, match="unknown language 'de-test'"):
        language("de-test")


def test_a_code_is_registered_once():
    assert register_language(ENGLISH) is ENGLISH and LANGUAGES["en"] is ENGLISH  # the same record: no change
    with pytest.raises(ValueError, match=r"^language 'en' is registered already; pass replace=True$"):
        register_language(replace(ENGLISH, name="Another English"))
