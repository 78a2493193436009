#!/usr/bin/python3
"""Fetch Pweave's own test documents and reference outputs, the corpus weft's
compatibility tests compare against, from Debian's source package
`python-pweave` (its original tarball holds Pweave's tests/ folder).

    tools/fetch_pweave_tests.py [DEST]      (default: build/pweave-tests)

Prints DEST on success (exit 0); on failure says why on stderr (exit 1), and
the tests that need the corpus report SKIP with that reason.

How: a PRIVATE apt configuration under DEST/../apt (its own deb-src list,
package lists and cache; the system's sources are only read, never edited).
The deb-src list repeats the system's own `deb` entries for the release's main
suite (same mirror, same keyring), so apt checks the tarball against the signed
Sources index as for any package. `apt-get source --download-only --tar-only`
brings the original tarball; its tests/ folder becomes DEST, plus
formats/formatters_test_executed.json: Pweave's executed chunk list
(formatters_test.pkl, the pickle its format tests render from) as JSON, read
with an unpickler that builds nothing but dicts and lists, so renderers can be
tested without running code. DEST appears whole (built beside it, renamed) and
is reused once there; `make clean` removes it.
"""

import fcntl
import json
import os
import pickle
import shutil
import subprocess
import sys
import tarfile

PACKAGE = "python-pweave"
MARKER = ".weft-corpus"  # written last: DEST is complete when it exists


class FetchError(Exception):
    pass


def apt_config_paths():
    """The system's sources.list file and sources.list.d folder, as apt sees them."""
    r = subprocess.run(["apt-config", "shell", "SL", "Dir::Etc::sourcelist/f",
                        "SP", "Dir::Etc::sourceparts/d"], capture_output=True, text=True)
    if r.returncode != 0:
        raise FetchError(f"apt-config failed: {r.stderr.strip()}")
    vals = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition("=")
        vals[k] = v.strip().strip("'")
    return vals.get("SL", ""), vals.get("SP", "")


def release_codename():
    """The running Debian release's codename (bookworm, ...), or None."""
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("VERSION_CODENAME="):
                    return line.split("=", 1)[1].strip().strip('"') or None
    except OSError:
        pass
    return None


def parse_one_line(path):
    """Entries of a one-line-style .list file: dicts with types/uris/suites/components/signed-by."""
    out = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            words = line.split()
            kind, words = words[0], words[1:]
            opts = {}
            if words and words[0].startswith("["):
                opt_words = []
                while words:
                    w = words.pop(0)
                    opt_words.append(w)
                    if w.endswith("]"):
                        break
                for o in " ".join(opt_words).strip("[]").split():
                    k, _, v = o.partition("=")
                    opts[k.lower()] = v
            if len(words) < 2:
                continue
            out.append({"types": [kind], "uris": [words[0]], "suites": [words[1]],
                        "components": words[2:], "signed-by": opts.get("signed-by")})
    return out


def parse_deb822(path):
    """Entries of a deb822 .sources file (stanzas separated by blank lines)."""
    out = []
    with open(path) as f:
        text = f.read()
    for stanza in text.split("\n\n"):
        fields, key = {}, None
        for line in stanza.splitlines():
            if line.startswith("#"):
                continue
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line
                continue
            k, sep, v = line.partition(":")
            if not sep:
                continue
            key = k.strip().lower()
            fields[key] = v.strip()
        if not fields or fields.get("enabled", "yes").lower() == "no":
            continue
        out.append({"types": fields.get("types", "").split(),
                    "uris": fields.get("uris", "").split(),
                    "suites": fields.get("suites", "").split(),
                    "components": fields.get("components", "").split(),
                    "signed-by": fields.get("signed-by")})
    return out


def system_entries():
    """Every enabled apt source entry of the system."""
    sl, sp = apt_config_paths()
    entries = []
    if sl and os.path.isfile(sl):
        entries += parse_one_line(sl)
    if sp and os.path.isdir(sp):
        for name in sorted(os.listdir(sp)):
            p = os.path.join(sp, name)
            if name.endswith(".list"):
                entries += parse_one_line(p)
            elif name.endswith(".sources"):
                entries += parse_deb822(p)
    return entries


def private_sources(entries, codename):
    """deb822 text of deb-src entries mirroring the system's deb entries for the main suite."""
    stanzas = []
    for e in entries:
        if "deb" not in e["types"] or not e["uris"]:
            continue
        suites = [s for s in e["suites"] if codename and s == codename]
        if not suites:
            continue
        lines = ["Types: deb-src", "URIs: " + " ".join(e["uris"]),
                 "Suites: " + " ".join(suites), "Components: " + " ".join(e["components"])]
        if e["signed-by"]:
            lines.append("Signed-By: " + e["signed-by"])
        stanzas.append("\n".join(lines))
    if not stanzas:
        raise FetchError(f"no apt source for the release's main suite ({codename}) to derive a deb-src entry from")
    return "\n\n".join(stanzas) + "\n"


def apt(aptdir, *args, cwd=None):
    """Run apt-get with the private configuration; CompletedProcess."""
    opts = ["-o", f"Dir::Etc::SourceList={aptdir}/weft.sources",
            "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={aptdir}/lists",
            "-o", f"Dir::Cache={aptdir}/cache",
            "-q"]
    if os.geteuid() == 0:  # the _apt user cannot write into a build folder
        opts += ["-o", "APT::Sandbox::User=root"]
    return subprocess.run(["apt-get", *opts, *args], cwd=cwd, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)


def download(aptdir):
    """The original tarball of python-pweave, downloaded into aptdir/src (reused when there)."""
    src = os.path.join(aptdir, "src")
    os.makedirs(src, exist_ok=True)
    have = [f for f in os.listdir(src) if ".orig.tar." in f]
    if have:
        return os.path.join(src, sorted(have)[-1])
    for d in ("lists/partial", "cache/archives/partial"):
        os.makedirs(os.path.join(aptdir, d), exist_ok=True)
    with open(os.path.join(aptdir, "weft.sources"), "w") as f:
        f.write(private_sources(system_entries(), release_codename()))
    r = apt(aptdir, "update")
    if r.returncode != 0:
        raise FetchError("apt-get update (private deb-src list) failed: " + r.stderr.strip()[-600:])
    r = apt(aptdir, "source", "--download-only", "--tar-only", PACKAGE, cwd=src)
    have = [f for f in os.listdir(src) if ".orig.tar." in f]
    if r.returncode != 0 or not have:
        raise FetchError(f"apt-get source {PACKAGE} failed: " + (r.stderr.strip() or r.stdout.strip())[-600:])
    return os.path.join(src, sorted(have)[-1])


class _Node(dict):
    """Stands for nbformat's NotebookNode, a dict subclass."""


class _DataOnly(pickle.Unpickler):
    """Loads a pickle that holds plain data and NotebookNodes; refuses any other global."""

    def find_class(self, module, name):
        if (module, name) == ("nbformat.notebooknode", "NotebookNode"):
            return _Node
        raise pickle.UnpicklingError(f"refusing {module}.{name}")


def extract(tarball, dest):
    """Pweave's tests/ folder (and its licence) from tarball into dest, plus the executed JSON."""
    with tarfile.open(tarball) as tf:
        members = []
        for m in tf.getmembers():
            parts = m.name.split("/", 1)
            if len(parts) != 2 or not (m.isfile() or m.isdir()):
                continue
            rel = parts[1]
            if rel.startswith("tests/"):
                rel = rel[len("tests/"):]
            elif rel != "LICENSE.txt":
                continue
            if not rel or rel.startswith("/") or ".." in rel.split("/"):
                continue
            m.name = rel
            members.append(m)
        if not any(m.name == "formats/formatters_test.pkl" for m in members):
            raise FetchError(f"{os.path.basename(tarball)} has no tests/formats/formatters_test.pkl")
        # Members were limited above to plain files and folders under relative names
        # without "..", so nothing can land outside dest; the "data" filter (Python
        # 3.11.4+) also drops odd modes where this Python has it.
        if hasattr(tarfile, "data_filter"):
            tf.extractall(dest, members=members, filter="data")
        else:
            tf.extractall(dest, members=members)
    with open(os.path.join(dest, "formats", "formatters_test.pkl"), "rb") as f:
        executed = _DataOnly(f).load()
    with open(os.path.join(dest, "formats", "formatters_test_executed.json"), "w") as f:
        f.write(json.dumps(executed, indent=1))


def fetch(dest):
    """Make dest the complete corpus (no-op when it already is)."""
    if os.path.exists(os.path.join(dest, MARKER)):
        return
    parent = os.path.dirname(os.path.abspath(dest))
    aptdir = os.path.join(parent, "apt")
    os.makedirs(aptdir, exist_ok=True)
    with open(os.path.join(aptdir, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one fetch at a time; the others reuse its result
        if os.path.exists(os.path.join(dest, MARKER)):
            return
        tarball = download(aptdir)
        tmp = f"{dest}.tmp.{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        try:
            extract(tarball, tmp)
            with open(os.path.join(tmp, MARKER), "w") as f:
                f.write(os.path.basename(tarball) + "\n")
            shutil.rmtree(dest, ignore_errors=True)
            os.rename(tmp, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    top = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    dest = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(top, "build", "pweave-tests"))
    try:
        fetch(dest)
    except (FetchError, OSError, tarfile.TarError, pickle.UnpicklingError, EOFError) as e:
        print(f"fetch_pweave_tests: {e}", file=sys.stderr)
        return 1
    print(dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
