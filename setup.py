"""The library's wheel carries the validators' Lambda asset, built from ``lambda_src/``
(see ``constructs/secure_trail/validators/lambda_asset.py``). Everything else is in pyproject.toml."""

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def _lambda_asset():
    # By path: importing the secure_trail package would import aws-cdk-lib.
    spec = importlib.util.spec_from_file_location(
        "secure_trail_lambda_asset", ROOT / "constructs" / "secure_trail" / "validators" / "lambda_asset.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildPyWithLambdaAsset(build_py):
    def run(self):
        super().run()
        if self.editable_mode:  # a checkout bundles the asset at synth instead
            return
        asset = _lambda_asset()
        print(f"building the validators' Lambda asset ({asset.ASSET_ZIP}: arm64, CPython 3.14)")
        asset.build_zip(Path(self.build_lib) / "secure_trail" / "validators" / asset.ASSET_ZIP,
                        lambda_src=ROOT / "lambda_src", wheels=asset.wheel_source(ROOT))


setup(cmdclass={"build_py": BuildPyWithLambdaAsset})
