"""Start-up cost of a query: the whole process `cqrs view --as vinsha --format json` on the
demo file, beside a bare Typer app with one no-op command (the floor any Typer CLI pays).

Run from the repository root: `python benchmarks/startup.py [--runs N]`. Prints, in one run:
- the CPU time (user + system) of each whole process, median of N runs taken alternately
  (target: the query <= 1.2x the bare app);
- what the query imports beyond the bare app, its costliest modules first
  (`python -X importtime`), to see what to load lazily.

Both run with their bytecode cached (in a scratch PYTHONPYCACHEPREFIX, warmed first), as
an installed program runs: compiling the sources on every run would measure the compiler.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BARE = '''
import typer

app = typer.Typer()


@app.command()
def noop() -> None:
    """Do nothing."""


app()
'''
TARGET = 1.2


def run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True, env=env, cwd=REPO)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def imports(command: list[str], env: dict[str, str]) -> dict[str, int]:
    """Module -> its own import time (microseconds), from `python -X importtime`."""
    done = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=REPO,
    )
    found = {}
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \| \s*(\S+)", line)
        if match:
            found[match[2]] = int(match[1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cqrs-startup-") as tmp:
        folder = Path(tmp)
        bare = folder / "bare.py"
        bare.write_text(BARE)
        db = folder / "demo.db"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(PYTHONPATH=str(REPO), PYTHONPYCACHEPREFIX=str(folder / "pycache"))
        py = sys.executable
        subprocess.run(
            [py, "-m", "cqrs_cli", "--db", str(db), "-q", "sync", "--demo"],
            check=True,
            env=env,
            cwd=REPO,
        )
        commands = {
            "bare Typer app, one no-op command": [py, str(bare)],
            "cqrs view --as vinsha --format json": [
                py,
                "-m",
                "cqrs_cli",
                "--db",
                str(db),
                "view",
                "--as",
                "vinsha",
                "--format",
                "json",
            ],
        }
        for command in commands.values():  # warm: writes the bytecode, fills the OS cache
            run(command, env)
            run(command, env)
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        wall: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                c, w = run(command, env)
                cpu[name].append(c)
                wall[name].append(w)
        print(f"whole process, median of {args.runs} runs taken alternately:")
        for name in commands:
            print(
                f"  {name:38} CPU {statistics.median(cpu[name]) * 1000:6.1f} ms"
                f"   wall {statistics.median(wall[name]) * 1000:6.1f} ms"
            )
        floor, query = (statistics.median(cpu[name]) for name in commands)
        ratio = query / floor
        verdict = "ok" if ratio <= TARGET else "OVER"
        print(f"query / bare app, CPU: {ratio:.2f}x (target <= {TARGET}x): {verdict}")
        bare_modules, view_modules = (imports(c, env) for c in commands.values())
        extra = {m: us for m, us in view_modules.items() if m not in bare_modules}
        total = sum(extra.values()) / 1000
        print(f"imported beyond the bare app: {len(extra)} modules, {total:.1f} ms (importtime)")
        for module, us in sorted(extra.items(), key=lambda kv: -kv[1])[:12]:
            print(f"  {us / 1000:5.2f} ms  {module}")


if __name__ == "__main__":
    main()
