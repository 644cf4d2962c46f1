"""Reading deploy/ as Docker would: the Dockerfile's instructions and the files its image holds, the
compose file's services, and a compose command turned into one that runs here (paths in the image
mapped back to the repository)."""
from __future__ import annotations

import json
import posixpath
import shlex
import sys
from pathlib import Path

import yaml

from tests.support import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
VENV_BIN = Path(sys.executable).parent  # where the compose commands' programs are installed here


def dockerfile_instructions(path: Path = DEPLOY / "Dockerfile") -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    instructions, pending = [], ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = (pending + stripped).strip()
        pending = ""
        keyword, _, args = whole.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    return instructions


def words(args: str) -> list[str]:
    """An instruction's arguments, exec (JSON) form or shell form, without --flags."""
    parts = json.loads(args) if args.startswith("[") else shlex.split(args)
    return [p for p in parts if not p.startswith("--")]


def env_of(instructions) -> dict[str, str]:
    env = {}
    for keyword, args in instructions:
        if keyword == "ENV":
            env.update(part.split("=", 1) for part in shlex.split(args))
    return env


def image_files(instructions) -> dict[str, Path]:
    """Each path a COPY puts into the image -> its source in the build context (the repository root);
    a folder that files were copied into is listed with a trailing slash (it holds only those)."""
    files, workdir = {}, "/"
    for keyword, args in instructions:
        if keyword == "WORKDIR":
            workdir = posixpath.join(workdir, args)
        elif keyword == "COPY":
            *sources, dest = words(args)
            dest_abs = posixpath.normpath(posixpath.join(workdir, dest))
            into_dir = dest.endswith("/") or len(sources) > 1
            if into_dir and len({posixpath.dirname(s) for s in sources}) == 1:
                files.setdefault(dest_abs + "/", REPO_ROOT / posixpath.dirname(sources[0]))
            for source in sources:
                target = posixpath.join(dest_abs, posixpath.basename(source)) if into_dir else dest_abs
                files[target] = REPO_ROOT / source
    return files


def local_path(container_path: str, files: dict[str, Path]) -> Path | None:
    """Where a path inside the image comes from here (the longest COPY destination it lies under)."""
    if container_path.rstrip("/") + "/" in files:
        return files[container_path.rstrip("/") + "/"]
    for target in sorted((t for t in files if not t.endswith("/")), key=len, reverse=True):
        if container_path == target or container_path.startswith(target + "/"):
            return files[target] / posixpath.relpath(container_path, target)
    return None


def compose(path: Path = DEPLOY / "docker-compose.yaml") -> dict:
    return yaml.safe_load(path.read_text())


def dotenv(path: Path = DEPLOY / ".env.example") -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:?message} and ${NAME:-default} for the values in `env`."""
    import re

    def value(match):
        name, op, rest = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op == ":-":
            return rest
        raise KeyError(f"{name} is unset ({rest})")

    return re.sub(r"\$\{(\w+)(?:(:[?-])([^}]*))?\}", value, text)
