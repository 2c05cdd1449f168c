"""The image as the Dockerfile builds it, replayed without a Docker engine.

The Dockerfile is the list of files: :func:`copies` reads its ``COPY`` lines, :func:`build`
copies exactly those paths (minus what ``.dockerignore`` keeps out of the build context) into
a fresh root, installs the package non-editable into a fresh virtual environment the way the
``RUN pip install`` lines do, and :meth:`Layout.run` starts ``tripline`` from ``WORKDIR`` as a
non-root user, with the image's ``ENV`` and a task definition's environment.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tests.helpers import REPO

DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
# The image's user is a system account; here the unprivileged "nobody" stands in for it.
RUN_AS_UID = 65534
# Absolute paths in the image that the layout maps under its root.
IMAGE_DIRS = ("app", "data", "tmp")


@dataclass(frozen=True)
class Copy:
    """One ``COPY <sources…> <dest>`` instruction (sources relative to the build context)."""

    sources: tuple[str, ...]
    dest: str


def instructions(text: str) -> Iterator[tuple[str, str]]:
    """``(KEYWORD, arguments)`` for each instruction, continuation lines joined."""
    logical = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not logical and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical += line
        keyword, _, arguments = logical.partition(" ")
        yield keyword.upper(), arguments.strip()
        logical = ""


def copies(text: str) -> list[Copy]:
    """Every ``COPY`` of the build context (``--from`` stages and JSON form are not used)."""
    found = []
    for keyword, arguments in instructions(text):
        if keyword != "COPY":
            continue
        words = [w for w in shlex.split(arguments) if not w.startswith("--chown")]
        if not words or words[0].startswith(("[", "--")):
            raise ValueError(f"unsupported COPY form: {arguments}")
        *sources, dest = words
        found.append(Copy(tuple(sources), dest))
    return found


def workdir(text: str) -> str:
    (last,) = [a for k, a in instructions(text) if k == "WORKDIR"][-1:]
    return last


def image_env(text: str) -> dict[str, str]:
    """The ``ENV key=value`` pairs, in order."""
    env: dict[str, str] = {}
    for keyword, arguments in instructions(text):
        if keyword == "ENV":
            for word in shlex.split(arguments):
                key, _, value = word.partition("=")
                env[key] = value
    return env


def run_lines(text: str) -> list[str]:
    return [a for k, a in instructions(text) if k == "RUN"]


def copied_paths(text: str = "") -> set[str]:
    """Every build-context path the Dockerfile copies (top-level names, as written)."""
    return {
        source.rstrip("/") for c in copies(text or DOCKERFILE.read_text()) for source in c.sources
    }


def _ignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text().splitlines() if DOCKERIGNORE.exists() else []
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def ignored(relative: str, patterns: list[str] | None = None) -> bool:
    """Whether ``.dockerignore`` keeps ``relative`` (or a folder above it) out of the context."""
    patterns = _ignore_patterns() if patterns is None else patterns
    path = PurePosixPath(relative)
    candidates = [str(path), *(str(parent) for parent in path.parents if str(parent) != ".")]
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _pattern_regex(pattern.removeprefix("!").strip("/"))
        if any(regex.fullmatch(c) for c in candidates):
            excluded = not negate
    return excluded


def _copy_into(source: Path, target: Path, context: Path) -> None:
    relative = source.relative_to(context).as_posix()
    if ignored(relative):
        return
    if source.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        for child in sorted(source.iterdir()):
            _copy_into(child, target / child.name, context)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def image_python() -> str:
    """A Python 3.11 an unprivileged user can execute (root's pyenv lives in a 0700 home)."""
    base = getattr(sys, "_base_executable", sys.executable)
    for candidate in ("/usr/local/bin/python3.11", "/usr/bin/python3.11", base):
        path = Path(candidate)
        if path.exists() and _world_reachable(path.resolve()):
            return str(path)
    raise RuntimeError("no Python 3.11 executable by other users: install python3.11 (Debian)")


def _world_reachable(path: Path) -> bool:
    for folder in [*reversed(path.parents)]:
        if not folder.stat().st_mode & stat.S_IXOTH:
            return False
    return bool(path.stat().st_mode & stat.S_IXOTH)


@dataclass(frozen=True)
class Layout:
    """A replayed image: ``root`` stands for ``/``, ``app`` for ``WORKDIR``."""

    root: Path
    app: Path
    venv: Path
    env: dict[str, str]
    install_seconds: float

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def rebase(self, value: str) -> str:
        """An image path (``/data/…``, ``/app/…``, ``/tmp/…``) inside this layout."""
        parts = PurePosixPath(value).parts
        if value.startswith("/") and len(parts) > 1 and parts[1] in IMAGE_DIRS:
            return str(self.root.joinpath(*parts[1:]))
        return value

    def task_env(self, task_definition: Path) -> dict[str, str]:
        """The image's environment plus one task definition's, image paths rebased."""
        (container,) = json.loads(task_definition.read_text())["containerDefinitions"]
        env = {**self.env}
        for item in container.get("environment", []):
            env[item["name"]] = self.rebase(item["value"])
        return env

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        program: str = "tripline",
        timeout: float = 600,
    ) -> subprocess.CompletedProcess[str]:
        """``program args`` from WORKDIR as the unprivileged user, nothing inherited."""
        # As root (this machine, CI), drop to the unprivileged user; a non-root runner is one.
        drop = ["setpriv", f"--reuid={RUN_AS_UID}", f"--regid={RUN_AS_UID}", "--clear-groups"]
        command = [*(drop if os.geteuid() == 0 else []), str(self.venv / "bin" / program), *args]
        return subprocess.run(
            command,
            cwd=self.app,
            env=dict(env if env is not None else self.env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def build(root: Path) -> Layout:
    """Copy what the Dockerfile copies into ``root`` and install the package from there."""
    text = DOCKERFILE.read_text()
    app = root / workdir(text).lstrip("/")
    for copy in copies(text):
        dest = Path(copy.dest)
        base = root / copy.dest.lstrip("/") if dest.is_absolute() else app / copy.dest
        for source in copy.sources:
            path = REPO / source
            if not path.exists():
                raise FileNotFoundError(f"the Dockerfile copies {source}, which does not exist")
            if path.is_dir():
                _copy_into(path, base, REPO)
            elif copy.dest.endswith("/") or len(copy.sources) > 1:
                _copy_into(path, base / path.name, REPO)
            else:
                _copy_into(path, base, REPO)
    venv = root / "venv"
    started = time.perf_counter()
    subprocess.run([image_python(), "-m", "venv", str(venv)], check=True)
    # What the Dockerfile's RUN lines do: a plain (non-editable) install pinned by constraints.
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "-c", "constraints.txt", "."],
        cwd=app,
        check=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    install_seconds = time.perf_counter() - started
    for name in ("data", "tmp"):
        folder = root / name
        folder.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            os.chown(folder, RUN_AS_UID, RUN_AS_UID)
    (root / "tmp").chmod(0o1777)
    layout = Layout(root, app, venv, {}, install_seconds)
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(app),
        "LANG": "C.UTF-8",
        "TMPDIR": str(root / "tmp"),
    }
    env.update({key: layout.rebase(value) for key, value in image_env(text).items()})
    return Layout(root, app, venv, env, install_seconds)
