"""Write a 7z archive holding one pickle; run by the benchmark venv's Python (py7zr lives there)."""

import sys

import py7zr

if __name__ == "__main__":
    out, member, source = sys.argv[1], sys.argv[2], sys.argv[3]
    with py7zr.SevenZipFile(out, "w") as archive:
        archive.write(source, member)
