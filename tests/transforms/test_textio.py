"""Decoding and splitting exports as the tools write them."""

import pytest

from transforms.textio import UnreadableFile, parse_table, read_text


def test_bom_semicolons_repeated_headers_and_quoted_newlines_keep_true_line_numbers():
    data = '\ufeffKey;Labels;Labels\nA-1;"two\nlines";x\n\nA-2;y;\n'.encode()
    tf = read_text(data)
    table = parse_table(tf)
    assert (tf.encoding, tf.delimiter) == ("utf-8-sig", ";")
    assert table.columns == ["Key", "Labels", "Labels__2", "_line"]
    # A-1 starts on line 2 and spans 2 lines; line 4 is blank; A-2 is on line 5.
    assert table.get_column("_line").to_list() == [2, 5]
    assert table.get_column("Labels").to_list() == ["two\nlines", "y"]


def test_windows_1252_and_utf16_are_decoded():
    assert read_text("Name,Cost\nCafé,1\n".encode("cp1252")).encoding == "cp1252"
    tf = read_text("Name\tCost\nZoë\t2\n".encode("utf-16"))
    assert (tf.encoding, tf.delimiter) == ("utf-16", "\t")
    assert parse_table(tf).get_column("Name").to_list() == ["Zoë"]


@pytest.mark.parametrize("data", [b"", b"   \n", b"\x89PNG\r\n\x1a\n\x00\x00\x00"])
def test_empty_and_binary_files_are_unreadable(data):
    with pytest.raises(UnreadableFile):
        read_text(data)
