"""Checks the Python distributions `make python-dist` built, as a user of PyPI would get them.

    python check_dist.py DIST_DIR HEADER ZOO

Run with the interpreter of a fresh virtual environment into which the wheel was installed
(`make test-python-dist` does all of it). Checks: the sdist carries the Swift package it builds
the library from; the wheel is named libmodeltree, has the header's version, bundles
libmodeltree.so.0 needing nothing from the Swift toolchain and exporting only modeltree_*; the installed package (not the source
tree) recovers ZOO's true edges. Prints one line per check; exits 1 on the first failure.
"""
from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile


def check(ok: bool, what: str) -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        sys.exit(1)


def main() -> None:
    dist, header, zoo = sys.argv[1:4]
    with open(header) as f:
        version = ".".join(re.findall(r"^#define MODELTREE_VERSION_(?:MAJOR|MINOR|PATCH) (\d+)$", f.read(), re.M))
    sdists, wheels = glob.glob(os.path.join(dist, "*.tar.gz")), glob.glob(os.path.join(dist, "*.whl"))
    check(len(sdists) == 1 and len(wheels) == 1, f"one sdist and one wheel in {dist}")
    check(os.path.basename(sdists[0]) == f"libmodeltree-{version}.tar.gz", f"sdist {os.path.basename(sdists[0])}")

    with tarfile.open(sdists[0]) as t:
        names = set(t.getnames())
    top = f"libmodeltree-{version}"
    for needed in ("swift/Package.swift", "swift/include/modeltree.h", "swift/Sources/ModelTreeC/modeltree.exports",
                   "setup.py", "src/modeltree/_modeltree.c"):
        check(f"{top}/{needed}" in names, f"sdist carries {needed}")

    with zipfile.ZipFile(wheels[0]) as w:
        metadata = w.read(f"libmodeltree-{version}.dist-info/METADATA").decode()
        files = set(w.namelist())
    check("\nName: libmodeltree\n" in metadata and f"\nVersion: {version}\n" in metadata,
          f"wheel metadata: libmodeltree {version}")
    check("modeltree/libmodeltree.so.0" in files, "wheel bundles modeltree/libmodeltree.so.0")

    import modeltree as mt  # the installed wheel: the caller's cwd holds no modeltree package

    check(os.path.realpath(mt.__file__).startswith(os.path.realpath(sys.prefix)), f"modeltree imported from {sys.prefix}")
    check(mt.library_version == version, f"bundled library version {mt.library_version}")
    bundled = os.path.join(os.path.dirname(mt.__file__), "libmodeltree.so.0")
    ldd = subprocess.run(["ldd", bundled], capture_output=True, text=True).stdout
    check("swift" not in ldd and "not found" not in ldd, "bundled library needs no toolchain library (ldd)")
    nm = subprocess.run(["nm", "-D", "--defined-only", bundled], capture_output=True, text=True).stdout
    others = [name for name in (line.split()[-1].split("@")[0] for line in nm.splitlines())
              if not name.startswith("modeltree_") and name != "MODELTREE_0"]
    check(nm != "" and not others, "bundled library defines only modeltree_* dynamic symbols" + (f": not {others[:5]}" if others else ""))

    with open(os.path.join(zoo, "truth.json")) as f:
        truth = {tuple(e) for e in json.load(f)["edges"]}
    graph = mt.recover(zoo)
    got = {(e.parent, e.child) for e in graph.edges}
    check(got == truth, f"recovers the {len(truth)} true edges of {zoo}")


if __name__ == "__main__":
    main()
