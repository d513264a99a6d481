"""Builds modeltree._modeltree against include/modeltree.h and ships libmodeltree.so inside the
package, so that `import modeltree` finds it without LD_LIBRARY_PATH.

Where the library comes from:
  $MODELTREE_LIB   a built libmodeltree.so (the file, or a folder holding it): bundled as it is
                   (`make python-install` passes the one `make lib` made)
  otherwise        built from source with the Swift toolchain, as `make lib` builds it (the Swift
                   runtime linked in, so the wheel needs no toolchain): in a repository checkout
                   from its Package.swift, in .build-dist (shared with `make lib`, so incremental);
                   in an sdist from the copy of the Swift package it carries (swift/)
The header comes from the same Swift package ($MODELTREE_INCLUDE overrides it). The library is
copied into the package as its soname (libmodeltree.so.0) and the extension is linked with
RUNPATH $ORIGIN. The version is the header's MODELTREE_VERSION_MAJOR.MINOR.PATCH.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.sdist import sdist

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
SONAME = "libmodeltree.so.0"
# What an sdist carries of the repository to build the library: the Swift package's manifest, its
# sources and the public header (folders copied whole). Package.swift also declares test targets,
# whose folders must exist for SwiftPM to load it: they are carried empty.
SWIFT_PACKAGE = ["Package.swift", "Sources", "include"]


def _swift_root() -> str:
    """The Swift package to build: the sdist's copy, else the repository this folder is in."""
    carried = os.path.join(HERE, "swift")
    if os.path.isfile(os.path.join(carried, "Package.swift")):
        return carried
    if os.path.isfile(os.path.join(REPO, "Package.swift")):
        return REPO
    raise SystemExit(f"no Swift package to build libmodeltree from: neither {carried} nor {REPO} holds Package.swift")


def _version() -> str:
    header = os.path.join(_header_dir(), "modeltree.h")
    with open(header, encoding="utf-8") as f:
        parts = dict(re.findall(r"^#define MODELTREE_VERSION_(MAJOR|MINOR|PATCH) (\d+)$", f.read(), re.M))
    if sorted(parts) != ["MAJOR", "MINOR", "PATCH"]:
        raise SystemExit(f"{header}: no MODELTREE_VERSION_MAJOR/MINOR/PATCH defines")
    return f"{parts['MAJOR']}.{parts['MINOR']}.{parts['PATCH']}"


def _header_dir() -> str:
    folder = os.environ.get("MODELTREE_INCLUDE") or os.path.join(_swift_root(), "include")
    if not os.path.isfile(os.path.join(folder, "modeltree.h")):
        raise SystemExit(f"modeltree.h not found in {folder}: set MODELTREE_INCLUDE to the folder that holds it")
    return folder


def _check_python_headers() -> None:
    include = sysconfig.get_paths()["include"]
    if not os.path.isfile(os.path.join(include, "Python.h")):
        raise SystemExit(
            f"Python.h is not in {include}: install this Python's development headers "
            "(Debian/Ubuntu: apt-get install python3-dev)"
        )


def _given_library() -> str | None:
    given = os.environ.get("MODELTREE_LIB")
    if not given:
        return None
    path = os.path.join(given, "libmodeltree.so") if os.path.isdir(given) else given
    if not os.path.isfile(path):
        raise SystemExit(f"MODELTREE_LIB={given}: no libmodeltree.so there")
    return os.path.realpath(path)


def _build_library() -> str:
    """Builds libmodeltree.so with SwiftPM the way mk/c.mk's `lib` does; returns its path."""
    root = _swift_root()
    swift = shutil.which(os.environ.get("SWIFT", "swift"))
    if swift is None:
        raise SystemExit(
            "building libmodeltree.so needs the Swift toolchain (6.0 or later; `swift` is not on PATH), "
            "or set MODELTREE_LIB to a libmodeltree.so built elsewhere (`make lib`)"
        )
    scratch = os.path.join(root, ".build-dist" if root == REPO else ".build")
    command = [swift, "build", "-c", "release", "--static-swift-stdlib", "--product", "modeltree",
               "--scratch-path", scratch]
    print(f"modeltree: building libmodeltree.so in {root}: {' '.join(command)}", flush=True)
    subprocess.run(command, cwd=root, env={**os.environ, "MODELTREE_STATIC_STDLIB": "1"}, check=True)
    return os.path.join(scratch, "release", "libmodeltree.so")


def _soname(path: str) -> str | None:
    try:
        out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    for line in out.splitlines():
        if "(SONAME)" in line and "[" in line:
            return line.split("[", 1)[1].rstrip("]").strip()
    return None


class BuildExt(build_ext):
    """Copies libmodeltree.so next to the extension (stripped) before linking against that copy."""

    def run(self) -> None:
        _check_python_headers()
        library = _given_library() or _build_library()
        soname = _soname(library)
        if soname not in (None, SONAME):
            raise SystemExit(f"{library} has soname {soname}; this package expects {SONAME}")
        targets = [os.path.join(self.build_lib, "modeltree")]
        if self.inplace:
            targets.append(os.path.join(HERE, "src", "modeltree"))
        for folder in targets:
            os.makedirs(folder, exist_ok=True)
            bundled = os.path.join(folder, SONAME)
            if shutil.which("strip"):
                subprocess.run(["strip", "--strip-unneeded", "-o", bundled, library], check=True)
            else:
                shutil.copyfile(library, bundled)
            os.chmod(bundled, 0o755)
        print(f"modeltree: bundling {library} as {SONAME}")
        for ext in self.extensions:
            ext.library_dirs = [targets[0]]
            ext.extra_link_args = [f"-l:{SONAME}", "-Wl,-rpath,$ORIGIN"]
        super().run()


def _swift_package_files() -> list[str]:
    """The files of SWIFT_PACKAGE, relative to REPO: those git tracks in a checkout (so that a
    dirty tree's stray files stay out), else every file but hidden ones and caches."""
    try:
        out = subprocess.run(["git", "-C", REPO, "ls-files", "-z", "--", *SWIFT_PACKAGE],
                             capture_output=True, text=True, check=True).stdout
        tracked = [f for f in out.split("\0") if f and os.path.isfile(os.path.join(REPO, f))]
        if tracked:
            return tracked
    except (OSError, subprocess.CalledProcessError):
        pass
    found = []
    for name in SWIFT_PACKAGE:
        for folder, dirs, names in os.walk(os.path.join(REPO, name)):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
            found += [os.path.relpath(os.path.join(folder, n), REPO) for n in names if not n.startswith(".")]
        if os.path.isfile(os.path.join(REPO, name)):
            found.append(name)
    return found


class SDist(sdist):
    """Adds the Swift package (SWIFT_PACKAGE) as swift/, so that the sdist builds the library."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        if _swift_root() != REPO:
            return  # an sdist of an sdist: swift/ is in `files` already (MANIFEST.in grafts it)
        carried = os.path.join(base_dir, "swift")
        for name in _swift_package_files():
            os.makedirs(os.path.dirname(os.path.join(carried, name)), exist_ok=True)
            shutil.copy2(os.path.join(REPO, name), os.path.join(carried, name))
        tests = os.path.join(REPO, "Tests")
        for name in sorted(os.listdir(tests)) if os.path.isdir(tests) else []:
            folder = os.path.join(tests, name)
            if os.path.isdir(folder) and any(f.endswith(".swift") for f in os.listdir(folder)):
                os.makedirs(os.path.join(carried, "Tests", name), exist_ok=True)


setup(
    version=_version(),
    ext_modules=[
        Extension(
            "modeltree._modeltree",
            sources=["src/modeltree/_modeltree.c"],
            include_dirs=[_header_dir()],
            depends=[os.path.join(_header_dir(), "modeltree.h")],  # rebuild when the contract changes
            extra_compile_args=["-std=c11", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
        )
    ],
    cmdclass={"build_ext": BuildExt, "sdist": SDist},
)
