"""The corpus script's readers of a source's own files: Qt resource bundles and credit READMEs (tools/photo_corpus.py)."""
import importlib.util
import struct
import zlib
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("photo_corpus", Path(__file__).parents[1] / "tools/photo_corpus.py")
photo_corpus = importlib.util.module_from_spec(spec)
spec.loader.exec_module(photo_corpus)


def bundle(files: dict[str, tuple[bytes, bool]]) -> bytes:
    """A format-2 .rcc holding one folder `res` with the given files (name: (bytes, compressed)), as Qt's rcc lays it out."""
    names, name_at = b"", {}
    for name in ["res", *files]:
        name_at[name] = len(names)
        names += struct.pack(">HI", len(name), 0) + name.encode("utf-16-be")
    payload, nodes = b"", []
    nodes.append(struct.pack(">IHII", 0, 2, 1, 1) + bytes(8))  # the root: one child, node 1
    nodes.append(struct.pack(">IHII", name_at["res"], 2, len(files), 2) + bytes(8))
    for name, (data, compressed) in files.items():
        blob = struct.pack(">I", len(data)) + zlib.compress(data) if compressed else data
        nodes.append(struct.pack(">IHHHI", name_at[name], int(compressed), 0, 0, len(payload)) + bytes(8))
        payload += struct.pack(">I", len(blob)) + blob
    tree = b"".join(nodes)
    header = 20
    return (struct.pack(">4sIIII", b"qres", 2, header, header + len(tree), header + len(tree) + len(payload))
            + tree + payload + names)


def test_rcc_files_reads_plain_and_compressed_entries_by_path():
    data = bundle({"README": (b"credits\n" * 20, True), "a.webp": (b"RIFF-not-really", False)})
    assert photo_corpus.rcc_files(data) == {"/res/README": b"credits\n" * 20, "/res/a.webp": b"RIFF-not-really"}
    with pytest.raises(ValueError, match="not a Qt resource"):
        photo_corpus.rcc_files(b"PK\x03\x04" + bytes(40))


def test_credits_take_wikimedia_photographs_with_their_licences_only():
    readme = """Copyright: Someone, 2022
License: CC-BY-SA 4.0
Files:
drawing.svg

Copyright: A Photographer
Source: https://commons.wikimedia.org/wiki/File:Bee.jpg
License: CC-BY-2.0
Comments: cropping, sharpening
Files: bee.webp

Copyright: Another
License: CC0-1.0
Source: https://commons.wikimedia.org/wiki/File:Wall.JPG
Files:
wonders/wall.webp
wonders/gate.webp
"""
    assert photo_corpus.credits(readme) == {"bee.webp": "CC-BY-2.0", "wonders/wall.webp": "CC0-1.0",
                                            "wonders/gate.webp": "CC0-1.0"}
