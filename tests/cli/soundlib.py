"""Soundness scenarios: for a document and a sequence of edits, a cached render
must be byte-identical to a render that uses no cache at all (--no-cache), and
must run exactly the chunks the edit can affect.

A scenario is a list of Steps. A step writes the document (noweb syntax) and
data files, renders it twice (with the scenario's persistent cache, and with
--no-cache in a copy of the folder made before either render), compares the
reports and exit statuses, and checks which chunks ran (and were replayed)
from --summary-json. Test files import this and call run_scenario.
"""

import os
import shutil

from weftlib import Scratch, check, summary, weft


class Step:
    def __init__(self, doc, ran, files=None, replayed=(), status=0, note="", touch=(), no_python=False,
                 setup=None, env=None):
        self.doc = doc
        self.ran = None if ran is None else set(ran)  # None: any set of chunks may run
        self.files = files or {}
        self.replayed = set(replayed)
        self.status = status
        self.note = note
        self.touch = touch
        # A render of an unchanged document must not start Python at all (an edited
        # chunk, even a comment-only edit, needs Python once to re-analyse its code).
        self.no_python = no_python
        self.setup = setup        # callable(doc_dir) run before the renders (e.g. make a folder)
        self.env = env or {}      # environment for both renders


def chunks(*parts):
    """Build a noweb document from (name, code) or (header, code) pairs."""
    out = []
    for header, code in parts:
        out.append(f"Text before {header.split(',')[0]}.\n\n<<{header}>>=\n{code.strip()}\n@\n")
    return "\n".join(out)


def render(folder, cache_dir, tag, env=None):
    """Render doc.mdw in folder: with the cache in cache_dir, or with none when cache_dir is None."""
    out = os.path.join(folder, f"report-{tag}.md")
    summ = os.path.join(folder, f"summary-{tag}.json")
    cache = ["--cache", "--cache-dir", cache_dir] if cache_dir else ["--no-cache"]
    r = weft("weave", *cache, "-q", "-f", "markdown", "-o", out, "--summary-json", summ, "doc.mdw",
             cwd=folder, env=env)
    text = open(out).read() if os.path.exists(out) else None
    s = summary(summ) if os.path.exists(summ) else {"chunks": []}
    return r, text, s


def _write_files(doc_dir, files):
    for fname, content in files.items():
        p = os.path.join(doc_dir, fname)
        if content is None:
            if os.path.isdir(p):
                shutil.rmtree(p)
            elif os.path.lexists(p):
                os.remove(p)
        elif callable(content):
            content(p)
        else:
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(content)


def run_scenario(name, steps):
    """Run every step of a scenario; returns the number of chunk runs the cached renders needed."""
    work = Scratch()
    cache = os.path.join(work.path, "cache")
    runs = 0
    for i, st in enumerate(steps, 1):
        label = f"{name}, step {i}" + (f" ({st.note})" if st.note else "")
        doc_dir = os.path.join(work.path, "doc")
        os.makedirs(doc_dir, exist_ok=True)
        with open(os.path.join(doc_dir, "doc.mdw"), "w") as f:
            f.write(st.doc)
        _write_files(doc_dir, st.files)
        for fname in st.touch:
            os.utime(os.path.join(doc_dir, fname), None)
        if st.setup:
            st.setup(doc_dir)
        # The uncached render runs in a copy made before the cached render can change any file.
        fresh_dir = os.path.join(work.path, f"fresh{i}")
        shutil.copytree(doc_dir, fresh_dir, symlinks=True,
                        ignore=shutil.ignore_patterns("report-*", "summary-*", "figures"))
        env = {k: v.replace("{dir}", doc_dir) for k, v in st.env.items()}
        fenv = {k: v.replace("{dir}", fresh_dir) for k, v in st.env.items()}
        r, text, s = render(doc_dir, cache, "cached", env)
        fr, ftext, _ = render(fresh_dir, None, "fresh", fenv)
        # Reports name their own folder only through paths a chunk printed: compare
        # them with each render's folder replaced by one placeholder.
        same = text is not None and ftext is not None and \
            text.replace(doc_dir, "{dir}") == ftext.replace(fresh_dir, "{dir}")
        check(f"{label}: cached report identical to uncached", same,
              f"cached stderr: {r.stderr}\nuncached stderr: {fr.stderr}\n--- cached\n{text}\n--- uncached\n{ftext}")
        check(f"{label}: exit status {st.status}", r.returncode == st.status and fr.returncode == st.status,
              f"cached {r.returncode}, uncached {fr.returncode}\n{r.stderr}")
        ran = {c["name"] for c in s["chunks"] if c["state"] == "ran"}
        replayed = {c["name"] for c in s["chunks"] if c["state"] == "replayed"}
        runs += len(ran) + len(replayed)
        if st.ran is not None:
            check(f"{label}: ran exactly {sorted(st.ran)}", ran == st.ran,
                  f"ran {sorted(ran)}; why: " + "; ".join(f"{c['name']}: {c.get('why')}" for c in s["chunks"]))
        if st.replayed:
            check(f"{label}: replayed {sorted(st.replayed)}", replayed == st.replayed, f"replayed {sorted(replayed)}")
        if st.no_python:
            check(f"{label}: Python not started", s.get("engine_started") is False, str(s))
    work.cleanup()
    return runs
