"""Benchmark: the offline writer against its own checker on the demo's day — the claims grounded per output
(incident texts, the analysts' findings, the digest, the situation briefings, `ask` answers), and every claim
that is not, with the checker's reason.

    .venv/bin/python benchmarks/grounding.py [--home /tmp/logintel-grounding] [--seed 7] [--reuse]

Runs `logintel demo` (24 h, the default scenarios, no model configured) into --home first, unless --reuse
finds a warehouse there; then reads what it stored and wrote, and asks the analysts the questions of
`benchmarks/analysts.py ask` about each day of it, offline.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _demo(home: Path, seed: int) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
    subprocess.run([sys.executable, "-m", "launch.cli", "demo", "--seed", str(seed)], cwd=ROOT, check=True,
                   env=env | {"LOGINTEL_HOME": str(home)}, stdout=subprocess.DEVNULL)


def _incidents(con) -> tuple[int, int, list[str]]:
    claims = grounded = 0
    missed = []
    for incident_id, grounding in con.execute("SELECT incident_id, grounding FROM incidents").fetchall():
        g = json.loads(grounding) if grounding else {}
        claims, grounded = claims + g.get("claims", 0), grounded + g.get("grounded", 0)
        missed += [f"{incident_id}: {v['claim']['text']!r} ({v['reason']}; {v['evidence']})"
                   for v in g.get("ungrounded", [])]
    return grounded, claims, missed


def _findings(con) -> tuple[int, int, list[str]]:
    claims = grounded = 0
    missed = []
    for finding_id, document in con.execute("SELECT finding_id, document FROM findings").fetchall():
        g = json.loads(document).get("grounding") or {}
        claims, grounded = claims + g.get("claims", 0), grounded + g.get("grounded_claims", 0)
        if g.get("grounded") is False:
            missed.append(f"{finding_id}: {g.get('reason')}")
    return grounded, claims, missed


def _documents(paths: list[Path]) -> tuple[int, int, list[str]]:
    claims = grounded = 0
    missed = []
    for path in paths:
        g = json.loads(path.read_text())["grounding"]
        claims, grounded = claims + g["claims"], grounded + g["grounded"]
        missed += [f"{path.name}: {sentence}" for sentence in g["ungrounded"]]
    return grounded, claims, missed


def _ask(settings, days: list[str]) -> tuple[int, int, list[str]]:
    from benchmarks.analysts import QUESTIONS
    from logintel.agents.ask.console import ask_output
    claims = grounded = 0
    missed = []
    for day in days:
        for question in QUESTIONS:
            g = json.loads(ask_output(settings, question, day, as_json=True))["grounding"]
            claims, grounded = claims + g.get("claims", 0), grounded + g.get("grounded", 0)
            missed += [f"{day} {question!r}: {s} ({r})" for s, r in zip(g.get("ungrounded", []), g.get("reasons", []))]
    return grounded, claims, missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, default=Path("/tmp/logintel-grounding"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="measure the demo already in --home")
    args = parser.parse_args()
    from logintel.config import load_settings
    from logintel.store.warehouse import connect
    settings = load_settings({"LOGINTEL_HOME": str(args.home)})
    if not (args.reuse and settings.warehouse_path.exists()):
        print(f"logintel demo --seed {args.seed} into {args.home} …", flush=True)
        _demo(args.home, args.seed)
    digests = sorted(settings.digests_dir.glob("*.json"))
    con = connect(settings.warehouse_path, read_only=True)
    try:
        rows = [("incident texts", *_incidents(con)), ("findings", *_findings(con))]
    finally:
        con.close()
    briefings = sorted(settings.briefings_dir.glob("*.json"))
    rows += [("digest", *_documents(digests)), ("briefings", *_documents(briefings)),
             ("ask answers", *_ask(settings, [p.stem for p in digests]))]
    print(f"\n{'output':<16} {'grounded':>9} {'claims':>7} {'share':>7}")
    for name, grounded, claims, _ in rows:
        share = f"{100 * grounded / claims:.1f}%" if claims else "—"  # no claim: nothing to verify
        print(f"{name:<16} {grounded:>9,} {claims:>7,} {share:>7}")
    for name, _, _, missed in rows:
        for line in missed:
            print(f"  not grounded ({name}) {line}")
    return 0 if all(g == c for _, g, c, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
