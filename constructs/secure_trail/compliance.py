"""cdk-nag 3 packs and the one way this package acknowledges a finding."""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import Acknowledgment, CfnResource, IPolicyValidationPlugin, Stack, Validations
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks
from constructs import IConstruct

NAG_PACKS = (AwsSolutionsChecks, NIST80053R5Checks, HIPAASecurityChecks, PCIDSS321Checks)


@jsii.implements(IPolicyValidationPlugin)
class RecordedPack:
    """A cdk-nag pack that keeps each verdict it returns, so that a synth can say which
    packs ran and passed (the validation report lists only the packs that failed)."""

    def __init__(self, pack: IPolicyValidationPlugin) -> None:
        self.pack = pack
        self.verdicts: list[bool] = []

    @property
    def name(self) -> str:
        return self.pack.name

    @property
    def version(self) -> str | None:
        return self.pack.version

    @property
    def rule_ids(self) -> list[str] | None:
        return self.pack.rule_ids

    def validate(self, context):
        report = self.pack.validate(context)
        self.verdicts.append(report.success)
        return report


def register_nag_packs(app: IConstruct) -> list[RecordedPack]:
    """Run every pack on synth: any unacknowledged finding makes synth exit non-zero."""
    packs = [RecordedPack(pack(app)) for pack in NAG_PACKS]
    Validations.of(app).add_plugins(*packs)
    return packs


def nag_summary(app: IConstruct, packs: list[RecordedPack]) -> str:
    """One line for after ``app.synth()``: which packs ran on how much, and their verdict."""
    names = ", ".join(pack.name for pack in packs)
    if not all(pack.verdicts for pack in packs):
        return f"cdk-nag: not every pack ran ({names}): was validation skipped?"
    constructs = app.node.find_all()
    resources = sum(1 for construct in constructs if CfnResource.is_cfn_resource(construct))
    acknowledged = sum(len(entry.data) for construct in constructs for entry in construct.node.metadata
                       if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
    verdict = ("passed: 0 unacknowledged findings" if all(all(pack.verdicts) for pack in packs)
               else "FAILED")
    return (f"cdk-nag: {names} ran on {resources} resources and {verdict} "
            f"({acknowledged} acknowledged, each with its reason on the construct it concerns).")


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
