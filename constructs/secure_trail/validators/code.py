"""The validators' Lambda asset (see ``lambda_asset.py`` for what it holds).

Installed from a wheel, the library carries the asset as a zip beside this module and
synthesizes without pip, network or Docker. In a checkout (``pip install -e .``), the asset
is bundled at synth from ``lambda_src/`` with the wheels ``make setup`` downloaded.
"""

from __future__ import annotations

from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from .lambda_asset import ASSET_ZIP, install_tree, wheel_source

PACKAGED_ASSET = Path(__file__).resolve().with_name(ASSET_ZIP)
CHECKOUT = Path(__file__).resolve().parents[3]
LAMBDA_SRC = CHECKOUT / "lambda_src"
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64


@jsii.implements(ILocalBundling)
class _PipPlatformBundling:
    def try_bundle(self, output_dir: str, *, image, **_options) -> bool:
        wheels = wheel_source(CHECKOUT)
        if wheels is None:
            raise RuntimeError(f"{CHECKOUT / '.bundle-cache'} is missing: run `make setup` to download the "
                               "Lambda wheels")
        install_tree(Path(output_dir), lambda_src=LAMBDA_SRC, wheels=wheels)
        return True


def validator_code() -> lambda_.Code:
    if PACKAGED_ASSET.is_file():
        return lambda_.Code.from_asset(str(PACKAGED_ASSET))
    if not LAMBDA_SRC.is_dir():
        raise RuntimeError(f"secure_trail at {PACKAGED_ASSET.parent} has neither its packaged Lambda asset "
                           f"({ASSET_ZIP}) nor a checkout's lambda_src/: reinstall the package from its wheel.")
    return lambda_.Code.from_asset(
        str(LAMBDA_SRC), exclude=["**/__pycache__", "*.pyc", "build", "*.egg-info"],
        bundling=BundlingOptions(image=DockerImage.from_registry("unused-local-bundling-only"),
                                 local=_PipPlatformBundling()))
