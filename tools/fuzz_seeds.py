#!/usr/bin/python3
"""Seed corpora for the libFuzzer targets in tests/fuzz, one folder per target.

    tools/fuzz_seeds.py OUT SOURCE...

SOURCE folders are searched for documents (Pweave's own test documents,
fetched by tools/fetch_pweave_tests.py, and the repository's examples/ and
tests/): each goes to the target of its reader by extension, documents that
start with front matter also to front_matter, and every chunk header's
options (markdown ```{python, ...}, noweb <<...>>=, `#+` and `#|` lines) and
the string literals of tests/unit/test_options.c to options. Files are named
by content hash, so reruns add nothing twice. Prints how many seeds each
target has.
"""

import hashlib
import os
import re
import sys

MAX = 65536  # the fuzz runs' -max_len
BY_EXT = {
    ".pmd": "markdown", ".md": "markdown", ".pmdw": "markdown",
    ".mdw": "noweb", ".texw": "noweb", ".Pnw": "noweb", ".pnw": "noweb", ".Rnw": "noweb", ".noweb": "noweb",
    ".txt": "script", ".py": "script",
    ".ipynb": "notebook",
}
HEADER = [re.compile(r"^```+\s*\{?\s*python\b[ ,]*(.*?)\}?\s*$", re.M),
          re.compile(r"^<<(.*)>>=\s*$", re.M),
          re.compile(r"^#\+\s?(.*)$", re.M),
          re.compile(r"^#\|\s?(.*)$", re.M)]


# A few seeds of forms the documents above lack (front matter keys weft reads; nbformat 4 and 3).
BUILTIN = {
    "front_matter": [
        "---\ntitle: Report\nweft:\n  echo: false\n  f_size: [5, 3]\n  cache: true\n---\n",
        "---\ntitle: \"A: b\"\nauthor: [x, y]\nweft: {results: hidden, dpi: 72, wrap: False}\n...\n",
        "---\nweft:\n  source: lib.py\n  dependson: [a, b]\n  caption: 'Fig'\n---\n",
    ],
    "notebook": [
        '{"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# T\\n", "text"]},'
        ' {"cell_type": "code", "execution_count": null, "metadata": {"tags": ["echo=False"]},'
        ' "outputs": [], "source": "#| label: a\\nx = 1"}], "metadata": {"kernelspec":'
        ' {"name": "python3", "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}',
        '{"worksheets": [{"cells": [{"cell_type": "code", "input": ["x = 1"], "language": "python",'
        ' "outputs": [], "metadata": {}}]}], "metadata": {"name": "n"}, "nbformat": 3, "nbformat_minor": 0}',
    ],
}


def put(out, target, data):
    """Store one seed (bytes) for `target`, named by its hash."""
    if not data or len(data) > MAX:
        return
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def seed_document(out, path):
    """A document: its reader's target, its front matter, its chunk options."""
    target = BY_EXT.get(os.path.splitext(path)[1])
    if not target:
        return
    with open(path, "rb") as f:
        data = f.read()
    put(out, target, data)
    text = data.decode("utf-8", "replace")
    if text.startswith("---\n"):
        end = text.find("\n---", 4)
        put(out, "front_matter", (text[:end + 5] if end > 0 else text).encode())
    for rx in HEADER:
        for m in rx.finditer(text):
            put(out, "options", m.group(1).encode())


def seed_c_strings(out, path):
    """The string literals of a C test (option strings the unit tests try)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        src = f.read()
    for m in re.finditer(r'"((?:[^"\\\n]|\\.)*)"', src):
        try:
            s = bytes(m.group(1), "utf-8").decode("unicode_escape").encode("utf-8", "replace")
        except (UnicodeDecodeError, ValueError):
            continue
        put(out, "options", s)


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[1]
    for target, seeds in BUILTIN.items():
        for text in seeds:
            put(out, target, text.encode())
    for src in sys.argv[2:]:
        if os.path.isfile(src) and src.endswith(".c"):
            seed_c_strings(out, src)
            continue
        for root, _, files in os.walk(src):
            for name in files:
                seed_document(out, os.path.join(root, name))
    for target in sorted(os.listdir(out)):
        print(f"{target}: {len(os.listdir(os.path.join(out, target)))} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
