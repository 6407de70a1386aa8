"""The validators' Lambda asset: ``lambda_src/trail_validators`` plus pinned wheels for
arm64 / CPython 3.14, bundled locally with ``pip --platform`` (no Docker).

``make setup`` downloads the wheels into ``.bundle-cache/``; bundling installs from there
with ``--no-index``, so synth stays offline.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

LAMBDA_SRC = Path(__file__).resolve().parents[2] / "lambda_src"
WHEEL_CACHE = LAMBDA_SRC.parent / ".bundle-cache"
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
PIP_TARGET = ["--platform", "manylinux2014_aarch64", "--implementation", "cp",
              "--python-version", "3.14", "--only-binary=:all:"]


@jsii.implements(ILocalBundling)
class _PipPlatformBundling:
    def try_bundle(self, output_dir: str, *, image, **_options) -> bool:
        requirements = LAMBDA_SRC / "requirements.txt"
        if not WHEEL_CACHE.is_dir():
            raise RuntimeError(f"{WHEEL_CACHE} is missing: run `make setup` to download the Lambda wheels")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index",
                        "--find-links", str(WHEEL_CACHE), *PIP_TARGET, "--target", output_dir,
                        "-r", str(requirements)], check=True)
        shutil.copytree(LAMBDA_SRC / "trail_validators", Path(output_dir) / "trail_validators",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        return True


def validator_code() -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(LAMBDA_SRC), exclude=["**/__pycache__", "*.pyc"],
        bundling=BundlingOptions(image=DockerImage.from_registry("unused-local-bundling-only"),
                                 local=_PipPlatformBundling()))
