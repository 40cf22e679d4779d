"""How fast is a policy replay, in how much memory? `python bench/replay.py [--database-url URL]`.

Seeds N attempts (default 1,000,000) with `seed-demo`, then runs
`flask --app portal policy replay --json --set LOCKOUT_MAX_FAILURES=3` over all of them,
and over a quarter of them, as an operator would (its own process), several rounds
each, taking turns with `policy show` (the same start, no replay). Prints the attempts
replayed per second, over the whole command and over the replay alone (the command's
time less that of `policy show`), and the process's peak memory: a replay in constant
memory peaks at about the same for a quarter of the attempts as for all of them.
Target: at least 100,000 attempts a second (the whole command, all attempts).
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from common import ROOT
from common import fresh_database
from common import machine
from common import portal_env
from common import seeded

ROUNDS = 3
TARGET = 100_000
CANDIDATE = ["--set", "LOCKOUT_MAX_FAILURES=3"]


def replay(env, since):
    """Run one replay from `since` in its own process; return (attempts, seconds, peak MiB)."""
    return run(env, "replay", "--json", "--since", since.isoformat(), *CANDIDATE)


def start_up(env):
    """Run `policy show`, the same process without a replay; return its seconds."""
    return run(env, "show")[1]


def run(env, *args):
    """Run a `policy` command; return (attempts replayed or 0, seconds, peak MiB)."""
    command = [sys.executable, "-c", MEASURED, "--app", "portal", "policy", *args]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"policy replay failed:\n{done.stdout}{done.stderr}")
    *output, peak = done.stdout.rstrip("\n").split("\n")
    attempts = json.loads(output[-1])["attempts"] if args[0] == "replay" else 0
    return attempts, seconds, int(peak) / 1024


# The flask CLI, then the process's own peak resident memory (KiB) on a last line.
MEASURED = ("import resource, sys\nfrom flask.cli import main\n"
            "try:\n    main()\nexcept SystemExit as end:\n    code = end.code\nelse:\n"
            "    code = 0\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\nsys.exit(code)\n")


def main():
    """Seed, replay all and a quarter, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL base URL (default: SQLite)")
    parser.add_argument("--attempts", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir, \
            fresh_database(args.database_url, Path(workdir)) as url:
        env = portal_env(url)
        seconds = seeded(env, args.attempts)
        print(f"{machine()}; {args.attempts:,} attempts seeded in {seconds:.0f} s "
              f"({'PostgreSQL' if args.database_url else 'SQLite'})")
        now = datetime.now(UTC).replace(tzinfo=None)
        # seed-demo spreads its attempts evenly over 90 days: the last 22.5 hold a quarter.
        ranges = {"all": now - timedelta(days=365), "a quarter": now - timedelta(days=22.5)}
        rows, starts = {label: [] for label in ranges}, []
        for _ in range(ROUNDS):  # taking turns, so all see the same machine
            starts.append(start_up(env))
            for label, since in ranges.items():
                rows[label].append(replay(env, since))
        start = sorted(starts)[len(starts) // 2]
        print(f"policy show (start-up alone): {start:.2f} s")
        print(f"{'replayed':<12}{'attempts':>12}{'per s, command':>16}{'per s, replay':>15}"
              f"{'peak MiB':>10}")
        for label, runs in rows.items():
            attempts, seconds, peak = sorted(runs, key=lambda run: run[1])[len(runs) // 2]
            alone = attempts / max(seconds - start, 1e-9)
            print(f"{label:<12}{attempts:>12,}{attempts / seconds:>16,.0f}{alone:>15,.0f}"
                  f"{peak:>10.0f}")
            if label == "all":
                met = attempts / seconds >= TARGET
        print(f"target: at least {TARGET:,} attempts/s over all: {'met' if met else 'missed'}")


if __name__ == "__main__":
    main()
