"""The output files' helper: a failed append is taken back, links are never followed."""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hubspot_api.errors import ConfigError
from hubspot_api.outputs import AppendFile, OutputFileError, replace_file

# Appends lines of 100 bytes until one fails, then prints the error in one line.
_FILL = """
import sys
from hubspot_api.outputs import AppendFile, OutputFileError
out = AppendFile(sys.argv[1], "results_path")
try:
    for n in range(1000):
        out.write(b'{"n": %5d, "pad": "%s"}\\n' % (n, b"x" * 80))
except OutputFileError as exc:
    print(exc)
"""
LIMIT = 1_050  # bytes: ten lines and half of the eleventh


def test_an_append_cut_short_by_a_full_disk_is_taken_back(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))

    done = subprocess.run(
        [sys.executable, "-c", _FILL, str(path)],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=limited,
    )
    assert "results_path" in done.stdout
    assert "EFBIG" in done.stdout
    lines = path.read_bytes().splitlines(keepends=True)
    assert lines
    assert all(line.endswith(b"\n") for line in lines)
    assert [json.loads(line)["n"] for line in lines] == list(range(len(lines)))


def test_appended_and_replaced_files_are_created_for_their_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        appended = AppendFile(tmp_path / "rejects.jsonl", "rejects_path")
        appended.write(b"{}\n")
        appended.close()
        replace_file(tmp_path / "summary.json", "{}\n", "summary_path")
    finally:
        os.umask(old)
    for name in ("rejects.jsonl", "summary.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


def test_a_link_is_refused_and_its_target_left_alone(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep\n", encoding="utf-8")
    link = tmp_path / "out"
    link.symlink_to(victim)
    with pytest.raises(ConfigError, match="symbolic link"):
        AppendFile(link, "rejects_path")
    with pytest.raises(OutputFileError, match="symbolic link"):
        replace_file(link, "{}\n", "summary_path")
    assert victim.read_text(encoding="utf-8") == "keep\n"
