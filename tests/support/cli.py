"""Running the `logintel` command line as a user would: another process, a LOGINTEL_HOME of the test's."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.support import REPO_ROOT


def cli(home, *args) -> subprocess.CompletedProcess:
    """`python -m logintel.cli ARGS` on `home` with the file landing zone (PostgreSQL unset)."""
    env = dict(os.environ, LOGINTEL_HOME=str(home))
    env.pop("LOGINTEL_POSTGRES_URL", None)
    return subprocess.run([sys.executable, "-m", "logintel.cli", *args], env=env, capture_output=True,
                          text=True, timeout=60, cwd=REPO_ROOT)
