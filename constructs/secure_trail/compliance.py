"""cdk-nag 3 packs and the one way this package acknowledges a finding."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks
from constructs import IConstruct

NAG_PACKS = (AwsSolutionsChecks, NIST80053R5Checks, HIPAASecurityChecks, PCIDSS321Checks)


def register_nag_packs(app: IConstruct) -> None:
    """Run every pack on synth: any unacknowledged finding makes synth exit non-zero."""
    Validations.of(app).add_plugins(*(pack(app) for pack in NAG_PACKS))


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one exact finding on the construct it concerns (and its children)."""
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))


def acknowledge_each_pack(construct: IConstruct, rule: str, reason: str,
                          packs: tuple[str, ...] = ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")) -> None:
    """The same rule flagged by several compliance packs, acknowledged for one reason."""
    for pack in packs:
        acknowledge(construct, f"{pack}-{rule}", reason)


def nag_resource(scope: IConstruct, value: str) -> str:
    """A policy resource as cdk-nag names it in an IAM5 finding: references become
    ``<LogicalId.Attr>`` or ``<AWS::Pseudo>``."""
    return _render(Stack.of(scope).resolve(value))


def _render(node: Any) -> str:
    if isinstance(node, str):
        return node
    if "Fn::Join" in node:
        separator, parts = node["Fn::Join"]
        return separator.join(_render(part) for part in parts)
    if "Ref" in node:
        return f"<{node['Ref']}>"
    if "Fn::GetAtt" in node:
        return f"<{'.'.join(node['Fn::GetAtt'])}>"
    raise ValueError(f"cannot name {node!r} as cdk-nag does")
