"""What a run measured on: the machine, the package versions and the dbt project's files."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from bench.measure import GIB
from journeymap.settings import PROJECT_DIR


def machine_info() -> dict[str, Any]:
    cpu_model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except FileNotFoundError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    return {
        "cores": os.cpu_count(),
        "memory_bytes": memory,
        "memory_gib": round(memory / GIB, 1) if memory else None,
        "cpu_model": cpu_model,
        "os": platform.platform(),
        # Tells machines apart in the results without publishing their names.
        "hostname_hash": hashlib.sha256(platform.node().encode()).hexdigest()[:8],
    }


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("duckdb", "dbt-core", "dbt-duckdb"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def project_fingerprint() -> dict[str, Any]:
    """Which dbt SQL was measured: git HEAD, whether the dbt files differ from it, and a hash
    (taken again at the end, so a run during which someone edited the models says so)."""
    digest = hashlib.sha256()
    paths = [PROJECT_DIR / "dbt_project.yml", PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "seeds"):
        paths += sorted(p for p in (PROJECT_DIR / folder).rglob("*") if p.is_file())
    for path in paths:
        if path.exists():
            digest.update(str(path.relative_to(PROJECT_DIR)).encode())
            digest.update(path.read_bytes())

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=PROJECT_DIR, capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    dirty = git("status", "--porcelain", "--", "models", "macros", "seeds", "dbt_project.yml")
    return {
        "git_head": git("rev-parse", "--short", "HEAD") or None,
        "dbt_files_differ_from_head": bool(dirty),
        "dbt_files_sha256": digest.hexdigest()[:16],
    }
