"""Builds modeltree._modeltree against include/modeltree.h and ships libmodeltree.so inside the
package, so that `import modeltree` finds it without LD_LIBRARY_PATH.

Where things come from (first match wins):
  header   $MODELTREE_INCLUDE (a folder), else <repo>/include
  library  $MODELTREE_LIB (the .so file, or a folder holding libmodeltree.so), else the output of
           `make lib` (<repo>/build/c/lib), else a SwiftPM build folder of the repository
           (.build-dist, .build-py, .build; release)
The library is copied into the package as its soname (libmodeltree.so.0) and the extension is
linked with RUNPATH $ORIGIN.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
SONAME = "libmodeltree.so.0"


def _check_python_headers() -> None:
    include = sysconfig.get_paths()["include"]
    if not os.path.isfile(os.path.join(include, "Python.h")):
        raise SystemExit(
            f"Python.h is not in {include}: install this Python's development headers "
            "(Debian/Ubuntu: apt-get install python3-dev)"
        )


def _header_dir() -> str:
    folder = os.environ.get("MODELTREE_INCLUDE") or os.path.join(REPO, "include")
    if not os.path.isfile(os.path.join(folder, "modeltree.h")):
        raise SystemExit(f"modeltree.h not found in {folder}: set MODELTREE_INCLUDE to the folder that holds it")
    return folder


def _library() -> str:
    given = os.environ.get("MODELTREE_LIB")
    if given:
        path = os.path.join(given, "libmodeltree.so") if os.path.isdir(given) else given
        if not os.path.isfile(path):
            raise SystemExit(f"MODELTREE_LIB={given}: no libmodeltree.so there")
        return os.path.realpath(path)
    candidates = [os.path.join(REPO, "build", "c", "lib", "libmodeltree.so")] + [
        os.path.join(REPO, scratch, "release", "libmodeltree.so") for scratch in (".build-dist", ".build-py", ".build")
    ]
    for path in candidates:
        if os.path.isfile(path):
            return os.path.realpath(path)
    raise SystemExit(
        "libmodeltree.so not found; build it first (`make lib` at the repository's root) or set MODELTREE_LIB.\n"
        "Looked in:\n  " + "\n  ".join(candidates)
    )


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
    """Copies libmodeltree.so next to the extension before linking against that copy."""

    def run(self) -> None:
        _check_python_headers()
        library = _library()
        soname = _soname(library)
        if soname not in (None, SONAME):
            raise SystemExit(f"{library} has soname {soname}; this package expects {SONAME}")
        targets = [os.path.join(self.build_lib, "modeltree")]
        if self.inplace:
            targets.append(os.path.join(HERE, "src", "modeltree"))
        for folder in targets:
            os.makedirs(folder, exist_ok=True)
            shutil.copyfile(library, os.path.join(folder, SONAME))
            os.chmod(os.path.join(folder, SONAME), 0o755)
        print(f"modeltree: bundling {library} as {SONAME}")
        for ext in self.extensions:
            ext.library_dirs = [targets[0]]
            ext.extra_link_args = [f"-l:{SONAME}", "-Wl,-rpath,$ORIGIN"]
        super().run()


setup(
    ext_modules=[
        Extension(
            "modeltree._modeltree",
            sources=["src/modeltree/_modeltree.c"],
            include_dirs=[_header_dir()],
            depends=[os.path.join(_header_dir(), "modeltree.h")],  # rebuild when the contract changes
            extra_compile_args=["-std=c11", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
        )
    ],
    cmdclass={"build_ext": BuildExt},
)
