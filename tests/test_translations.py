"""The Dutch and French catalogues translate every message that the sources use today.

The messages are extracted afresh from ``hrpipeline/`` with the method map of ``babel.cfg`` and
the keywords of the extraction command (``_l``, ``lazy_gettext``), so a string added to a template
or a view without updating the catalogues fails here, named in the assertion message. Each
translation must be present, not fuzzy, not empty (every plural form), keep the same named
placeholders ``%(name)s`` as its msgid, and add no bare ``%`` that ``%``-formatting would choke on.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "hrpipeline"
TRANSLATIONS = PACKAGE / "translations"
LANGUAGES = ("nl", "fr")
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}

NAMED = re.compile(r"%\(([^)]+)\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
ESCAPED = re.compile(r"%%")


def _extract() -> dict[str | tuple[str, ...], list[str]]:
    """Every msgid the sources use (plural messages as tuples), with where it is used."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, str(ROOT / "babel.cfg"))
    package = str(PACKAGE)
    found: dict[str | tuple[str, ...], list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS,
        directory_filter=lambda path: path == package or path.startswith(package + os.sep),
    ):
        assert context is None, f"message contexts are not used: {message!r} in {filename}"
        msgid = message if isinstance(message, str) else tuple(message)
        found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def extracted():
    messages = _extract()
    assert len(messages) > 100, "the extraction found almost nothing: check babel.cfg"
    return messages


def _catalogue(lang: str):
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def _named(text: str) -> set[str]:
    return set(NAMED.findall(text))


def _bare_percent(text: str) -> bool:
    """A ``%`` that is neither a named placeholder nor an escaped ``%%``."""
    return "%" in ESCAPED.sub("", NAMED.sub("", text))


def _problems(message, msgid) -> list[str]:
    if message is None:
        return ["missing from the catalogue (run pybabel extract and update)"]
    if message.fuzzy:
        return ["fuzzy"]
    ids = [msgid] if isinstance(msgid, str) else list(msgid)
    strings = [message.string] if isinstance(message.string, str) else list(message.string)
    if not strings or any(not s.strip() for s in strings):
        return ["empty translation"]
    problems = []
    wanted = set().union(*(_named(i) for i in ids))
    got = set().union(*(_named(s) for s in strings))
    if isinstance(msgid, str):
        if got != wanted:
            problems.append(f"placeholders {sorted(got)} instead of {sorted(wanted)}")
    elif not got <= wanted or (wanted and not got):
        # a singular form may leave out the count ("one problem"), but none may invent one
        problems.append(f"placeholders {sorted(got)} instead of {sorted(wanted)}")
    if not any(_bare_percent(i) for i in ids) and any(_bare_percent(s) for s in strings):
        problems.append("unescaped % (write %% as in the msgid)")
    return problems


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_source_message_is_translated(extracted, lang):
    catalogue = _catalogue(lang)
    failures = []
    for msgid, where in sorted(extracted.items(), key=lambda item: str(item[0])):
        key = msgid if isinstance(msgid, str) else msgid[0]
        for problem in _problems(catalogue.get(key), msgid):
            failures.append(f"  {msgid!r} ({where[0]}): {problem}")
    assert not failures, (
        f"{len(failures)} problem(s) in the {lang} catalogue "
        f"(hrpipeline/translations/{lang}/LC_MESSAGES/messages.po):\n" + "\n".join(failures)
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogue_has_no_fuzzy_entries(lang):
    fuzzy = [m.id for m in _catalogue(lang) if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy entries in the {lang} catalogue: {fuzzy}"


def test_placeholder_check_catches_mistakes():
    from babel.messages.catalog import Message

    msgid = "Leavers since %(date)s"
    assert _problems(Message(msgid, "Uitstromers sinds %(date)s"), msgid) == []
    assert _problems(Message(msgid, "Uitstromers sinds %(datum)s"), msgid)
    assert _problems(Message(msgid, ""), msgid) == ["empty translation"]
    assert _problems(Message(msgid, "x", flags=["fuzzy"]), msgid) == ["fuzzy"]
    assert _problems(None, msgid)
    assert _problems(Message("95%% bands", "95% banden"), "95%% bands")
    assert _problems(Message("95%% bands", "95%%-banden"), "95%% bands") == []


def test_no_template_string_has_a_bare_percent():
    """Jinja %-formats every ``_()`` string of a template: ``"95% interval"`` raises TypeError
    at render time (it did, on the pilot page). Write ``%%`` for a literal percent sign."""
    import re
    from pathlib import Path

    bare = re.compile(r"%(?!%|\()")
    found = []
    for path in sorted((Path(__file__).resolve().parents[1] / "hrpipeline" / "templates")
                       .rglob("*.html")):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in re.finditer(r'_\("((?:[^"\\]|\\.)*)"', line):
                text = match.group(1).replace("%%", "")
                if bare.search(text):
                    found.append(f"{path.name}:{lineno}: {match.group(1)}")
    assert found == []
