"""Issue 10, section 3: the reader's input rules, size cap, numbers and error reports.

Each test here failed before the fix (a one-line string was read as a file when one
existed and as an empty deck otherwise; no size cap; decode errors without the file
name; ``parse_value`` backtracked quadratically; build-time errors had no line or card;
the reader stopped at the first bad line).
"""

import logging
from pathlib import Path

import pytest

from devices.errors import DeckTooLargeError, NetlistError, SpiceSyntaxError
from netlists import read_spice
from netlists import spice as spice_mod
from netlists.spice import parse_value

DECK = "title\nR1 a 0 1k\nV1 a 0 1\n.end\n"


def test_missing_file_name_is_file_not_found(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="missing.cir"):
        read_spice("missing.cir")
    with pytest.raises(FileNotFoundError):
        read_spice(Path("missing.cir"))
    with pytest.raises(FileNotFoundError):
        read_spice(path="missing.cir")


def test_one_line_string_naming_a_file_is_not_read(tmp_path, monkeypatch):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET=1\n")
    monkeypatch.chdir(tmp_path)
    for s in (str(secret), "secret.txt", "/proc/self/environ"):
        with pytest.raises(NetlistError, match=r"not read as a file; pass pathlib.Path"):
            read_spice(s)


def test_paths_are_explicit(tmp_path):
    p = tmp_path / "deck.cir"
    p.write_text(DECK)
    assert read_spice(p) == read_spice(path=p) == read_spice(path=str(p)) == read_spice(DECK)
    with pytest.raises(NetlistError, match="not both"):
        read_spice(DECK, path=p)
    with pytest.raises(NetlistError, match="not a regular file"):
        read_spice(tmp_path)


def test_one_line_text_that_is_no_file_name():
    with pytest.raises(SpiceSyntaxError, match="one-line string is neither deck text") as info:
        read_spice("title R1 a 0 1k")
    assert info.value.line == 1
    with pytest.raises(SpiceSyntaxError):
        read_spice("")


def test_size_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(spice_mod, "MAX_DECK_BYTES", 64)
    big = "title\n" + "* padding\n" * 10
    with pytest.raises(DeckTooLargeError, match="over the reader's cap of 64") as info:
        read_spice(big)
    assert info.value.limit == 64
    p = tmp_path / "big.cir"
    p.write_text(big)
    with pytest.raises(DeckTooLargeError, match="big.cir"):
        read_spice(p)
    assert spice_mod.MAX_DECK_BYTES == 64 and read_spice("t\nR1 a 0 1\n").n_elements == 1


def test_default_cap_is_256_mib():
    assert spice_mod.MAX_DECK_BYTES == 256 * 2**20


def test_non_utf8_file_names_the_file(tmp_path):
    p = tmp_path / "latin1.cir"
    p.write_bytes("title\nR1 a 0 1k\n* r\xe9sistance\n".encode("latin-1"))
    with pytest.raises(SpiceSyntaxError, match=r"latin1.cir.*is not UTF-8 text") as info:
        read_spice(p)
    assert info.value.line == 3


def test_utf8_bom_is_skipped(tmp_path):
    p = tmp_path / "bom.cir"
    p.write_bytes(b"\xef\xbb\xbf" + DECK.encode())
    assert read_spice(p).title == "title"


def test_parse_value_is_bounded():
    # before the fix, digits then letters backtracked quadratically (12k + 12k characters: tens of
    # seconds) and then reported "cannot read number"; now any token over 100 characters is refused
    with pytest.raises(SpiceSyntaxError, match=r"too long \(24001 characters; at most 100\)"):
        parse_value("1" * 12000 + "a" * 12000 + "!")
    with pytest.raises(SpiceSyntaxError, match=r"too long \(24000 characters"):
        parse_value("1" * 24000)
    with pytest.raises(SpiceSyntaxError, match="cannot read number"):
        parse_value("1" * 50 + "a" * 49 + "!")
    with pytest.raises(SpiceSyntaxError, match="too long"):
        read_spice("t\nR1 a 0 " + "1" * 24000 + "\n")
    assert parse_value("9" * 100) == pytest.approx(1e100)
    with pytest.raises(SpiceSyntaxError, match="not finite"):
        parse_value("9" * 90 + "e400")


@pytest.mark.parametrize("text, line, card, words", [
    ("t\nV1 a 0 1\nR1 a 0 0\n", 3, "r1", ["resistor 'r1': value must be finite and > 0"]),
    ("t\nV1 a 0 1\nR1 a a 1k\n", 3, "r1", ["both terminals on node 'a'"]),
    ("t\nV1 a 0 1\nR1 a b$c 1k\n", 3, "r1", ["invalid node name 'b$c'"]),
    ("t\nV1 a 0 1\nR1 a .control 1k\n", 3, "r1", ["invalid node name '.control'"]),
    ("t\nV1 a 0 1\nR1é a 0 1k\n", 3, "r1é", ["non-ASCII character", "U+00E9"]),
    ("t\nV1 a 0 1\nV2 a a 1\n", 3, "v2", ["both terminals"]),
    ("t\nV1 a 0 1\nM1 a a a 0 nm\n.model nm nmos\n", 3, "m1", ["drain and source on the same node"]),
    ("t\n.model nm nmos (level=1 kp=-1)\n", 2, ".model", ["kp must be finite and > 0"]),
    ("t\n.model nm nmos\n.model NM nmos\n", 3, ".model", ["defined twice"]),
    ("t\nM1 d g 0 0 nx W=1u L=1u\nV1 g 0 1\nR1 d 0 1k\n", 2, "m1", ["model 'nx', which is not defined"]),
    ("t\x07bell\nR1 a 0 1k\n", 1, "title", ["invalid title"]),
    ("t\nR1 a 0 1k\x00\n", 2, "r1", ["control character '\\x00'"]),
    ("t\n.title x\x1b[2J\n", 2, ".title", ["control character"]),
])
def test_build_time_rejections_name_line_and_card(text, line, card, words):
    with pytest.raises(SpiceSyntaxError) as info:
        read_spice(text)
    assert (info.value.line, info.value.card) == (line, card)
    assert str(info.value).startswith(f"line {line}: ")
    for w in words:
        assert w in str(info.value)


def test_all_errors_in_one_report():
    text = "t\nR1 a 0 0\nR2 a a 1k\n.control\nshell rm -rf /\n.endc\nD1 a 0 d\n.include x\nR3 a 0 abc\nV1 a 0 1\n"
    with pytest.raises(SpiceSyntaxError) as info:
        read_spice(text)
    lines = [e[0] for e in info.value.errors]
    assert lines == [2, 3, 4, 7, 8, 9]  # the .control block's inside is skipped, not parsed
    assert [e[1] for e in info.value.errors] == ["r1", "r2", ".control", "d1", ".include", "r3"]
    msg = str(info.value)
    assert msg.startswith("line 2: ") and "6 errors in this deck" in msg
    for n in (3, 4, 7, 8, 9):
        assert f"line {n}: " in msg


def test_report_is_capped():
    text = "t\n" + "".join(f"D{k} a 0 d\n" for k in range(500))
    with pytest.raises(SpiceSyntaxError) as info:
        read_spice(text)
    assert len(info.value.errors) == spice_mod.MAX_REPORTED_ERRORS
    assert "stopped after 50" in str(info.value)


def test_never_passed_cards():
    text = "t\n.control\n.endc\n.include a\n.inc a\n.lib a b\n!ls\nshell ls\nexec ls\n.shell ls\n"
    with pytest.raises(SpiceSyntaxError) as info:
        read_spice(text)
    assert [e[1] for e in info.value.errors] == [".control", ".include", ".inc", ".lib", "!ls", "shell", "exec",
                                                 ".shell"]


def test_ignored_cards_one_warning(caplog):
    text = ("t\n.options reltol=1e-6\n.temp 27\n.save all\n.print dc v(a)\n.ic v(a)=0\n.nodeset v(a)=0\n.op\n"
            ".title new title\nR1 a 0 1k\nV1 a 0 1\n.end\n")
    with caplog.at_level(logging.WARNING, logger="netlists.spice"):
        n = read_spice(text)
    assert n.title == "new title"
    records = [r for r in caplog.records if r.name == "netlists.spice"]
    assert len(records) == 1
    msg = records[0].getMessage()
    for card, line in ((".options", 2), (".temp", 3), (".save", 4), (".print", 5), (".ic", 6), (".nodeset", 7)):
        assert f"{card} (line {line})" in msg
    assert ".op" not in msg.replace(".options", "")
