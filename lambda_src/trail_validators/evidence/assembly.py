"""Reads a cloud assembly (``cdk.out``): every stack template its manifest lists, nested
assemblies (CDK stages) included, and cdk-nag's ``validation-report.json`` when present.

Everything here is input an attacker may have shaped (a pull request's cdk.out): a path
must stay inside the assembly, a file has a size cap, and any file that is not what it
should be is an :class:`AssemblyError` naming it, never a traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .text import one_line

MANIFEST = "manifest.json"
VALIDATION_REPORT = "validation-report.json"
STACK_ARTIFACT = "aws:cloudformation:stack"
NESTED_ASSEMBLY = "cdk:cloud-assembly"
MAX_FILE_BYTES = 16 * 1024 * 1024
"""Sixteen times what CloudFormation deploys from S3 (1 MB): anything larger is refused."""
MAX_NESTING = 8


class AssemblyError(ValueError):
    """The input is not a readable cloud assembly; the message says which file and why, on
    one line (a path from a hostile manifest may hold line breaks or terminal controls)."""

    def __str__(self) -> str:
        return one_line(super().__str__())


@dataclass(frozen=True)
class Stack:
    name: str
    template_file: str
    environment: str
    resources: dict[str, dict[str, Any]]
    conditions: dict[str, Any] = field(default_factory=dict)
    """The template's ``Conditions`` section (empty when it has none)."""
    parameters: dict[str, Any] = field(default_factory=dict)
    """The template's ``Parameters`` section (empty when it has none)."""
    outputs: dict[str, Any] = field(default_factory=dict)
    """The template's ``Outputs`` section (empty when it has none)."""


@dataclass(frozen=True)
class NagPlugin:
    name: str
    conclusion: str
    violations: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Assembly:
    directory: str
    stacks: tuple[Stack, ...]
    nag_report: tuple[NagPlugin, ...] | None
    """None when the assembly has no ``validation-report.json``."""
    indexes: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    """Lookups built once per assembly (``resources.py``), so no check is quadratic in a
    template's size."""


def read_assembly(cdk_out: str | Path) -> Assembly:
    root = Path(cdk_out)
    if not root.is_dir():
        raise AssemblyError(f"{root} is not a directory: give the cloud assembly folder (cdk.out)")
    if not (root / MANIFEST).is_file():
        raise AssemblyError(f"{root} is not a cloud assembly: it has no {MANIFEST}")
    stacks = tuple(_stacks(root.resolve(), root.resolve(), depth=0))
    if not stacks:
        raise AssemblyError(f"{root / MANIFEST} lists no CloudFormation stack")
    names = [stack.name for stack in stacks]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise AssemblyError(f"{root / MANIFEST}: stack names listed twice: {', '.join(duplicates)}")
    report = root / VALIDATION_REPORT
    nag = _nag_report(_read_json(root.resolve(), report)) if report.exists() else None
    return Assembly(directory=str(root), stacks=stacks, nag_report=nag)


def _stacks(assembly_root: Path, directory: Path, *, depth: int):
    if depth > MAX_NESTING:
        raise AssemblyError(f"{directory}: nested assemblies deeper than {MAX_NESTING}")
    manifest = _read_json(assembly_root, directory / MANIFEST)
    artifacts = manifest.get("artifacts", {}) if isinstance(manifest, dict) else None
    if not isinstance(artifacts, dict):
        raise AssemblyError(f"{directory / MANIFEST}: 'artifacts' is not an object")
    for artifact_id in sorted(artifacts):
        artifact = artifacts[artifact_id]
        if not isinstance(artifact, dict):
            raise AssemblyError(f"{directory / MANIFEST}: artifact {artifact_id!r} is not an object")
        properties = artifact.get("properties") or {}
        if not isinstance(properties, dict):
            raise AssemblyError(f"{directory / MANIFEST}: artifact {artifact_id!r} has no properties object")
        if artifact.get("type") == STACK_ARTIFACT:
            template_file = properties.get("templateFile")
            if not isinstance(template_file, str):
                raise AssemblyError(f"{directory / MANIFEST}: stack {artifact_id!r} names no templateFile")
            template = _read_json(assembly_root, directory / template_file)
            resources = template.get("Resources") if isinstance(template, dict) else None
            if not isinstance(resources, dict) or not all(
                    isinstance(resource, dict) for resource in resources.values()):
                raise AssemblyError(f"{directory / template_file}: not a CloudFormation template "
                                    "(no Resources object of objects)")
            name = properties.get("stackName") or artifact.get("displayName") or artifact_id
            environment = artifact.get("environment")
            yield Stack(name=str(name), template_file=template_file,
                        environment=environment if isinstance(environment, str) else "",
                        resources=resources, conditions=_section(template, "Conditions"),
                        parameters=_section(template, "Parameters"), outputs=_section(template, "Outputs"))
        elif artifact.get("type") == NESTED_ASSEMBLY:
            nested = properties.get("directoryName")
            if not isinstance(nested, str):
                raise AssemblyError(f"{directory / MANIFEST}: nested assembly {artifact_id!r} names no directory")
            yield from _stacks(assembly_root, _inside(assembly_root, directory / nested), depth=depth + 1)


def _inside(assembly_root: Path, path: Path) -> Path:
    resolved = path.resolve()
    if resolved != assembly_root and assembly_root not in resolved.parents:
        raise AssemblyError(f"{path} points outside the cloud assembly {assembly_root}")
    return resolved


def _read_json(assembly_root: Path, path: Path) -> Any:
    resolved = _inside(assembly_root, path)
    if not resolved.is_file():
        raise AssemblyError(f"{path} is missing or not a regular file")
    try:
        size = resolved.stat().st_size
        if size > MAX_FILE_BYTES:
            raise AssemblyError(f"{path} is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit")
        with resolved.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise AssemblyError(f"{path} is over the {MAX_FILE_BYTES:,}-byte limit")
        return json.loads(data)
    except OSError as error:
        raise AssemblyError(f"{path} cannot be read: {error.strerror or error}") from None
    except (ValueError, RecursionError) as error:
        raise AssemblyError(f"{path} is not valid JSON: {_short(error)}") from None


def _nag_report(report: Any) -> tuple[NagPlugin, ...]:
    where = VALIDATION_REPORT
    plugins = report.get("pluginReports") if isinstance(report, dict) else None
    if not isinstance(plugins, list):
        raise AssemblyError(f"{where}: 'pluginReports' is not a list (not a cdk validation report)")
    result = []
    for number, plugin in enumerate(plugins):
        if not isinstance(plugin, dict) or not isinstance(plugin.get("pluginName"), str) \
                or not isinstance(plugin.get("conclusion"), str):
            raise AssemblyError(f"{where}: pluginReports[{number}] has no pluginName and conclusion strings")
        violations = plugin.get("violations", [])
        if not isinstance(violations, list) or not all(isinstance(item, dict) for item in violations):
            raise AssemblyError(f"{where}: pluginReports[{number}].violations is not a list of objects")
        result.append(NagPlugin(plugin["pluginName"], plugin["conclusion"], tuple(violations)))
    return tuple(result)


def _short(error: Exception) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 200 else text[:200] + "..."


def _section(template: dict[str, Any], name: str) -> dict[str, Any]:
    section = template.get(name)
    return section if isinstance(section, dict) else {}
