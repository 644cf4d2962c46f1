"""`logintel ui`: the Dagster UI on this LOGINTEL_HOME's instance (the demo's runs included)."""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from logintel.config import load_settings
from launch.instance import REPO_ROOT, prepare_dagster_home


def main(args) -> int:
    settings = load_settings()
    home = prepare_dagster_home(settings)
    os.environ["LOGINTEL_HOME"] = str(settings.home)
    print(f"DAGSTER_HOME={home}\nopen http://127.0.0.1:{args.port}")
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # so Ctrl-C stops `dagster dev` (it ignores inherited SIG_IGN)
    os.chdir(REPO_ROOT)
    dagster = Path(sys.executable).parent / "dagster"  # the venv's own, not one on PATH
    dagster = str(dagster) if dagster.exists() else "dagster"
    os.execvp(dagster, [dagster, "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(args.port)])
    return 0
