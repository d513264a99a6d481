"""The `ModelTree` library product is usable by another Swift package: Tests/consumer depends on it
by URL and version — the way SwiftPM refuses unsafe build flags — from a git repository made of
this working tree's package, builds, and recovers a small family. The C ABI's product, which
needs linker flags, is refused the same way: the check is real."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT

SWIFT = shutil.which("swift")


def run(args, cwd, env=None, check=True):
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.mark.skipif(SWIFT is None, reason="needs the Swift toolchain")
def test_another_package_depends_on_the_library_product(tmp_path):
    with open(os.path.join(ROOT, "include", "modeltree.h")) as f:
        header = f.read()
    version = ".".join(re.search(rf"^#define MODELTREE_VERSION_{p} (\d+)$", header, re.M).group(1)
                       for p in ("MAJOR", "MINOR", "PATCH"))
    # The package as it is in this working tree, committed and tagged in a repository of its own.
    package = tmp_path / "libmodeltree"
    package.mkdir()
    shutil.copy(os.path.join(ROOT, "Package.swift"), package)
    for folder in ("Sources", "include"):
        shutil.copytree(os.path.join(ROOT, folder), package / folder)
    git = ["git", "-c", "user.email=tests@modeltree", "-c", "user.name=tests", "-c", "init.defaultBranch=main"]
    run(git + ["init", "-q"], package)
    run(git + ["add", "-A"], package)
    run(git + ["commit", "-q", "-m", "the working tree"], package)
    run(git + ["tag", version], package)

    consumer = tmp_path / "consumer"
    shutil.copytree(os.path.join(ROOT, "Tests", "consumer"), consumer)
    env = dict(os.environ, MODELTREE_PACKAGE_URL=f"file://{package}", MODELTREE_PACKAGE_VERSION=version)
    env.pop("MODELTREE_STATIC_STDLIB", None)
    scratch = str(tmp_path / "build")
    run([SWIFT, "build", "--scratch-path", scratch], consumer, env)
    out = run([os.path.join(scratch, "debug", "Consumer")], consumer).stdout
    assert out == "base <- -\nchild <- base\ngrandchild <- child\n"

    # The same dependency on the C ABI's product: refused for its linker flags.
    refused = run([SWIFT, "build", "--scratch-path", scratch], consumer,
                  dict(env, MODELTREE_PACKAGE_PRODUCT="modeltree"), check=False)
    assert refused.returncode != 0 and "contains unsafe build flags" in refused.stderr + refused.stdout
