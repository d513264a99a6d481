"""Runs the fenced code blocks of Markdown files as a reader pasting them would, in order.

    python Tests/docs/run_readme.py README.md [MORE.md ...]     (make test-docs)

Every block's language tag says what it is:
  sh, bash, shell   commands: run by one bash (set -eo pipefail) in the repository's root, so an
                    `export` or an activated virtual environment carries on to the next block
  c, cpp, python    code: a python block is run with the `python` the commands above leave on
                    PATH; a c or cpp block must carry a `file` marker (a reader saves it under
                    that name, and a later sh block compiles it)
  text, json, ...   not commands (output samples, schemas, layouts): never run
A block without a tag is an error: every block says whether it runs. HTML comments right before a
block refine it:
  <!-- docs-test: skip REASON -->     not run (say why)
  <!-- docs-test: file NAME -->       written to NAME in the repository's root instead of being run
  <!-- docs-test: except LINE -->     this command line of the block is left out (it must be there)
  <!-- docs-test: expect TEXT -->     the block's output must contain TEXT (repeatable)

The blocks run with HOME set to a fresh temporary folder, so `make install PREFIX=$HOME/.local`
or `python3 -m venv ~/venvs/x` install into it and nothing of the reader's home is touched; the
dot-folders of the real home (~/.swiftpm, ~/.cache, ~/.pyenv, ...) are linked into it, except
~/.local, so that tools find their settings and caches. Files and folders the blocks create at the
repository's top level (a compiled quick start, a written graph) are removed afterwards. The
repository's build folders are used as they are: a built tree makes this fast.
Prints each block's output, then how many blocks ran and how many were skipped, and why.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COMMANDS = {"sh", "bash", "shell"}
CODE = {"c", "cpp", "python"}
MARKER = re.compile(r"^<!--\s*docs-test:\s*(skip|file|except|expect)\b\s*(.*?)\s*-->$")
FENCE = re.compile(r"^(```+|~~~+)\s*([\w+-]*)\s*$")
TIMEOUT = 1800


class ReadmeError(Exception):
    """A README that this runner cannot take as it is: the message names the file and line."""


@dataclass
class Block:
    path: str
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    skip: str | None = None
    file: str | None = None
    excepted: list[str] = field(default_factory=list)
    expect: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{os.path.relpath(self.path, ROOT)}:{self.line}"


def parse(path: str) -> list[Block]:
    """The fenced blocks of one Markdown file with the markers right before each."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    blocks, pending, i = [], [], 0
    while i < len(lines):
        line = lines[i].strip()
        marker = MARKER.match(line)
        fence = FENCE.match(line)
        if marker:
            pending.append((marker.group(1), marker.group(2), i + 1))
        elif fence:
            close = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == fence.group(1)), None)
            if close is None:
                raise ReadmeError(f"{path}:{i + 1}: a fence that is never closed")
            block = Block(path, i + 1, fence.group(2).lower(), "\n".join(lines[i + 1:close]) + "\n")
            for kind, value, at in pending:
                if kind in ("skip", "file") and not value:
                    raise ReadmeError(f"{path}:{at}: docs-test: {kind} needs a value")
                if kind == "skip":
                    block.skip = value
                elif kind == "file":
                    block.file = value
                elif kind == "except":
                    block.excepted.append(value)
                else:
                    block.expect.append(value)
            blocks.append(block)
            pending, i = [], close
        elif line and pending:
            raise ReadmeError(f"{path}:{pending[0][2]}: a docs-test marker must come right before a block")
        i += 1
    if pending:
        raise ReadmeError(f"{path}:{pending[0][2]}: a docs-test marker with no block after it")
    return blocks


def check(block: Block) -> None:
    """Refuses blocks whose fate is not explicit."""
    if not block.lang:
        raise ReadmeError(f"{block.where}: a block without a language tag (sh, c, cpp, python to run it; text, json ... not to)")
    if block.lang in CODE and block.lang != "python" and not (block.file or block.skip):
        raise ReadmeError(f"{block.where}: a {block.lang} block needs `docs-test: file NAME` (or skip)")
    if block.file and "/" in block.file:
        raise ReadmeError(f"{block.where}: docs-test: file takes a plain file name, not {block.file}")
    if (block.excepted or block.expect) and block.lang not in COMMANDS | {"python"}:
        raise ReadmeError(f"{block.where}: except/expect apply to sh and python blocks only")


def command_part(line: str) -> str:
    """A command line without its trailing comment (`make test   # explains`)."""
    return re.sub(r"\s+#.*$", "", line).strip()


def script(blocks: list[Block], work: str) -> str:
    """One bash script for all the blocks to run, each one's output also saved for its checks."""
    # Not `source block || ...`: in a || list bash ignores set -e for every command of the block.
    # A failing command ends the script at once; the EXIT trap then shows that block's output.
    # The ERR trap names the command that failed, in the block's output.
    out = ["set -eo pipefail", f"cd {shlex.quote(ROOT)}", "__docs_log=/dev/null",
           "trap '__s=$?; [ $__s -eq 0 ] || { cat \"$__docs_log\"; echo \"(exit status $__s)\"; }' EXIT",
           "trap 'echo \"failed: $BASH_COMMAND\"' ERR"]
    for n, block in enumerate(blocks):
        out.append(f"echo {n} > {shlex.quote(os.path.join(work, 'current'))}")
        text = block.text
        if block.excepted:
            kept = text.splitlines()
            for excepted in block.excepted:
                match = [k for k, line in enumerate(kept) if command_part(line) == excepted]
                if not match:
                    raise ReadmeError(f"{block.where}: docs-test: except names `{excepted}`, which the block does not hold")
                del kept[match[0]]
            text = "\n".join(kept) + "\n"
        source = os.path.join(work, f"block{n}.{'py' if block.lang == 'python' else block.lang}")
        with open(source, "w") as f:
            f.write(text)
        log = os.path.join(work, f"block{n}.out")
        out.append(f"printf '\\n==== %s (%s)\\n' {shlex.quote(block.where)} {block.lang}")
        if block.file:
            out.append(f"cp {shlex.quote(source)} {shlex.quote(block.file)}")
            out.append(f"echo 'saved as {block.file}'")
            continue
        out.append(f"__docs_log={shlex.quote(log)} __docs_start=$EPOCHREALTIME")
        if block.lang == "python":
            out.append(f"python {shlex.quote(source)} > \"$__docs_log\" 2>&1")
        else:  # sourced, so that its exports and activations stay for the next blocks
            out.append(f"source {shlex.quote(source)} > \"$__docs_log\" 2>&1")
        out.append('cat "$__docs_log"')
        out.append('__us=$(( ${EPOCHREALTIME/./} - ${__docs_start/./} )); '
                   'printf "(%d.%d s)\\n" $((__us / 1000000)) $((__us / 100000 % 10))')
        for text in block.expect:
            out.append(f"grep -qF -- {shlex.quote(text)} \"$__docs_log\" || "
                       f"{{ __docs_log=/dev/null; echo {shlex.quote(f'{block.where}: the output does not contain: {text}')}; exit 1; }}")
    out.append("__docs_log=/dev/null")
    return "\n".join(out) + "\n"


def temporary_home(work: str) -> str:
    """A new HOME holding links to the real home's dot-folders and files, except .local."""
    home = os.path.join(work, "home")
    os.makedirs(home)
    real = os.path.expanduser("~")
    for name in sorted(os.listdir(real)) if os.path.isdir(real) else []:
        if name.startswith(".") and name != ".local":
            os.symlink(os.path.join(real, name), os.path.join(home, name))
    return home


def main(paths: list[str]) -> int:
    try:
        blocks = [b for p in paths for b in parse(os.path.abspath(p))]
        for block in blocks:
            check(block)
    except (OSError, ReadmeError) as e:
        print(f"run_readme.py: {e}", file=sys.stderr)
        return 2
    runnable = [b for b in blocks if not b.skip and (b.lang in COMMANDS or b.lang in CODE)]
    skipped = [b for b in blocks if b not in runnable]
    before = set(os.listdir(ROOT))
    work = tempfile.mkdtemp(prefix="run-readme-")
    try:
        try:
            text = script(runnable, work)
        except ReadmeError as e:
            print(f"run_readme.py: {e}", file=sys.stderr)
            return 2
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")}
        env["HOME"] = temporary_home(work)
        proc = subprocess.run(["bash", "-c", text], env=env, timeout=TIMEOUT)
        if proc.returncode != 0:
            with open(os.path.join(work, "current")) as f:
                failed = runnable[int(f.read())]
    finally:
        created = sorted(set(os.listdir(ROOT)) - before)
        for name in created:
            path = os.path.join(ROOT, name)
            shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.remove(path)
        shutil.rmtree(work, ignore_errors=True)
    if created:
        print(f"\nremoved what the blocks made at the top level: {', '.join(created)}")
    reached = runnable if proc.returncode == 0 else runnable[:runnable.index(failed) + 1]
    ran = [b for b in reached if not b.file]
    kinds = ", ".join(f"{sum(b.lang == k for b in ran)} {k}" for k in sorted({b.lang for b in ran}))
    saved = [b for b in reached if b.file]
    print(f"\n{' '.join(os.path.relpath(os.path.abspath(p), ROOT) for p in paths)}: {len(ran)} blocks ran ({kinds}), "
          f"{len(saved)} saved as files for them ({', '.join(b.file for b in saved) or 'none'}), {len(skipped)} skipped")
    for b in skipped:
        print(f"  skipped {b.where} ({b.lang}): {b.skip or 'not commands'}")
    if proc.returncode != 0:
        print(f"FAILED: {failed.where} ({failed.lang}) stopped with exit status {proc.returncode}; "
              f"the blocks after it did not run", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: run_readme.py FILE.md [FILE.md ...]")
    sys.exit(main(sys.argv[1:]))
