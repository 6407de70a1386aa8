"""Builds the validators' Lambda asset: the ``trail_validators`` package of ``lambda_src/``
plus the wheels its ``requirements.txt`` pins, for arm64 / CPython 3.14, installed with
``pip --platform`` (no Docker). No ``.pyc``, no ``bin/``, nothing else.

It runs in two places and nowhere else:
- ``setup.py``, when the library's wheel is built: the asset travels inside the wheel as a
  zip (``ASSET_ZIP``), so an installed library synthesizes without pip, network or Docker;
- ``cdk synth`` in a checkout (local bundling), from the same ``lambda_src/``.

Standard library only: ``setup.py`` loads this file before aws-cdk-lib is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ASSET_ZIP = "validators_lambda.zip"
PIP_TARGET = ["--platform", "manylinux2014_aarch64", "--implementation", "cp",
              "--python-version", "3.14", "--only-binary=:all:"]
WHEELS_ENV = "SECURE_TRAIL_LAMBDA_WHEELS"
"""A folder of the asset's wheels (``make setup`` fills ``.bundle-cache/``): installed
from there with ``--no-index``. Without it, pip downloads them from the index."""
_NOT_IN_ASSET = shutil.ignore_patterns("__pycache__", "*.pyc")
LAMBDA_CODE = ("__init__.py", "findings.py", "alerts.py", "contract", "digests", "access_logs", "posture",
               "analytics", "handlers")
"""All the asset holds of ``trail_validators``: what runs in Lambda (the ground modules, the
parts the handlers call, the handlers). Never ``cli`` or ``evidence``: the command line's."""
# A zip entry's date must be 1980 or later; a fixed one keeps the asset's hash stable.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def wheel_source(checkout: Path) -> Path | None:
    """Where the wheels come from: ``$SECURE_TRAIL_LAMBDA_WHEELS``, else the checkout's
    ``.bundle-cache/``, else None (the package index)."""
    configured = os.environ.get(WHEELS_ENV)
    if configured:
        return Path(configured)
    cache = checkout / ".bundle-cache"
    return cache if cache.is_dir() else None


def install_tree(out_dir: Path, *, lambda_src: Path, wheels: Path | None) -> None:
    """Write the asset's files into ``out_dir``."""
    index = ["--no-index", "--find-links", str(wheels)] if wheels else []
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--no-compile", *index, *PIP_TARGET, "--target", str(out_dir),
                    "-r", str(lambda_src / "requirements.txt")], check=True)
    # Console scripts of the dependencies: nothing in Lambda runs them.
    shutil.rmtree(out_dir / "bin", ignore_errors=True)
    for name in LAMBDA_CODE:
        source, target = lambda_src / "trail_validators" / name, out_dir / "trail_validators" / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=_NOT_IN_ASSET)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


def build_zip(zip_path: Path, *, lambda_src: Path, wheels: Path | None) -> None:
    """The asset as one zip whose bytes depend only on its files' contents."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "asset"
        install_tree(tree, lambda_src=lambda_src, wheels=wheels)
        zip_path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(p for p in tree.rglob("*") if p.is_file()):
                entry = zipfile.ZipInfo(path.relative_to(tree).as_posix(), _ZIP_DATE)
                entry.external_attr = 0o644 << 16  # readable by the Lambda runtime's user
                entry.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(entry, path.read_bytes())
