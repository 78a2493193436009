"""The chunk code Python compiles, from the code the document holds.

A chunk pasted from inside a class or a function starts indented; Python
refuses it ("unexpected indent") where IPython runs it, since IPython's
input transformer `leading_indent` removes the first line's indentation
from every line that starts with it. weft does the same, with two
differences that only make more chunks run as written:

  * the indentation is the one of the first line holding code: blank lines
    and comment-only lines before it do not count (IPython takes the first
    line, so an indented comment above unindented code breaks it);
  * nothing changes unless that line is indented, and a valid module never
    starts with an indented line, so code that compiles as written is never
    touched.

Lines are the ones Python counts ("\n"-separated). The line count never changes (lines are only shortened), so compiled line
numbers stay document lines and tracebacks point at the document. Cheap to
import: no imports at all.
"""


def first_code_indent(code):
    """The leading whitespace of the first line of `code` that holds code ("" if none)."""
    for line in code.split("\n"):
        stripped = line.lstrip(" \t\f")
        if not stripped.rstrip("\r") or stripped.startswith("#"):
            continue
        return line[:len(line) - len(stripped)]
    return ""


def dedent_chunk(code):
    """`code` with the first code line's indentation removed from every line
    that starts with it (IPython's leading_indent), or `code` itself when
    that line is not indented."""
    indent = first_code_indent(code)
    if not indent:
        return code
    n = len(indent)
    # split at "\n" only: str.splitlines would also split inside a line at
    # characters Python's tokenizer does not end lines with (form feed, \x1c...)
    return "\n".join(line[n:] if line.startswith(indent) else line
                     for line in code.split("\n"))
