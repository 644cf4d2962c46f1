"""Helpers the tests share (factories, fake servers, a throwaway PostgreSQL), and where things are."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_DATA = REPO_ROOT / "tests" / "data"
