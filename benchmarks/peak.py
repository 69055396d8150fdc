"""Run a command; write its CPU time and peak memory to a JSON file when it ends.

Linux's peak-memory figure for a child (`ru_maxrss` from `wait4`) keeps the resident size of
the process image that was forked, until `exec` replaced it. A benchmark driver holding a seeded
emulator in memory would inflate every figure by its own size. This launcher is a small, fresh
interpreter: the command it forks starts from that small image, so the figure is the command's
own. It imports nothing from the project, and passes stdin, stdout and stderr through.

    python benchmarks/peak.py REPORT.json -- COMMAND [ARG ...]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def main() -> None:
    """Run the command and report what it used; exit with its exit status."""
    report, separator, *command = sys.argv[1:]
    if separator != "--" or not command:
        raise SystemExit("usage: peak.py REPORT.json -- COMMAND [ARG ...]")
    proc = subprocess.Popen(command)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    with open(report, "w", encoding="utf-8") as out:
        json.dump(
            {"user_s": usage.ru_utime, "sys_s": usage.ru_stime, "max_rss_kib": usage.ru_maxrss},
            out,
        )
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
