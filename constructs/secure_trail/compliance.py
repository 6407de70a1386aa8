"""cdk-nag 3 packs, the AWS Control Tower proactive controls, and the one way this package
acknowledges a finding of either."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import jsii
from aws_cdk import Acknowledgment, CfnResource, IPolicyValidationPlugin, Stack, Stage, Validations
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks
from cdklabs.cdk_validator_cfnguard import CfnGuardValidator
from constructs import IConstruct

NAG_PACKS = (AwsSolutionsChecks, NIST80053R5Checks, HIPAASecurityChecks, PCIDSS321Checks)
# The CDK policy-validation plugin that runs the Control Tower proactive controls (the
# CloudFormation Guard rules and the cfn-guard binary it bundles) on every template.
CONTROL_TOWER_PLUGIN = "cdk-validator-cfnguard"
# The plugin reports a control by its Guard rule's name: the controls acknowledged somewhere in
# this package, by Control Tower id (tests check each name against the bundled rule file).
CONTROL_TOWER_RULES = {
    "CT.CLOUDTRAIL.PR.1": "cloud_trail_encryption_enabled_check",
    "CT.LAMBDA.PR.3": "lambda_inside_vpc_check",
    "CT.S3.PR.2": "s3_bucket_logging_enabled_check",
    "CT.S3.PR.4": "s3_event_notifications_enabled_check",
    "CT.S3.PR.9": "s3_bucket_object_lock_enabled_check",
    "CT.S3.PR.10": "s3_bucket_default_encryption_kms_check",
    "CT.SQS.PR.1": "sqs_dlq_check",
}


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


def register_control_tower_controls(app: IConstruct) -> None:
    """Run every bundled Control Tower proactive control on synth (offline: the plugin ships
    the rules and cfn-guard): a failure not acknowledged on its resource makes synth raise,
    as CloudFormation hooks would refuse the deploy where the controls are on. The plugin is
    registered as it is: its report passes from JavaScript to CDK without a Python wrapper (a
    wrapper cannot carry the beta1 report it returns, and CDK would record a plugin error)."""
    Validations.of(app).add_plugins(CfnGuardValidator())


def control_tower_summary(app: IConstruct) -> tuple[bool, str]:
    """The verdict and one line for after ``app.synth()`` returned, from the validation report:
    passed only when the plugin's entry is there and concludes success with no failure left
    (each one it reported acknowledged on its resource); a missing or unreadable report, or a
    plugin error, is a failure."""
    entry = _report_entry(app, CONTROL_TOWER_PLUGIN)
    if isinstance(entry, str):
        return False, f"Control Tower proactive controls: {CONTROL_TOWER_PLUGIN} FAILED ({entry})."
    if (entry.get("metadata") or {}).get("error") or entry.get("conclusion") != "success" or entry.get("violations"):
        failures = [f"{violation.get('description', '?')[:60]} on "
                    + ", ".join(str(c.get("constructPath")) for c in violation.get("violatingConstructs", ()))
                    for violation in entry.get("violations") or ()]
        reason = ((entry.get("metadata") or {}).get("error") or "; ".join(failures)
                  or f"conclusion {entry.get('conclusion')!r}")
        return False, f"Control Tower proactive controls: {CONTROL_TOWER_PLUGIN} FAILED ({str(reason)[:600]})."
    acknowledged = sum(len(violation.get("violatingConstructs", ()))
                       for violation in entry.get("suppressedViolations", ()))
    exemptions = sum(1 for rules in _acknowledged(app) for rule in rules if _is_control(rule))
    return True, (f"Control Tower proactive controls: {CONTROL_TOWER_PLUGIN} {entry.get('pluginVersion')} ran on "
                  f"{_resources(app)} resources and passed: 0 unacknowledged failures ({acknowledged} "
                  f"acknowledged through {exemptions} exemptions, each with its reason on the resource it "
                  "concerns).")


def _report_entry(app: IConstruct, plugin_name: str) -> dict | str:
    """The plugin's entry in ``<outdir>/validation-report.json``, or why there is none."""
    try:
        report = json.loads((Path(cast(Stage, app).outdir) / "validation-report.json").read_text())
        entries = [entry for entry in report["pluginReports"] if entry["pluginName"] == plugin_name]
    except (OSError, ValueError, KeyError, TypeError) as error:
        return f"no readable validation report: {error!r}"
    if len(entries) != 1:
        return f"{len(entries)} reports of the plugin in the validation report"
    return entries[0] if isinstance(entries[0], dict) else "unreadable entry"


def _acknowledged(app: IConstruct) -> list[dict]:
    return [entry.data for construct in app.node.find_all() for entry in construct.node.metadata
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY]


def _is_control(rule: str) -> bool:
    return rule.startswith(f"{CONTROL_TOWER_PLUGIN}::")


def _resources(app: IConstruct) -> int:
    return sum(1 for construct in app.node.find_all() if CfnResource.is_cfn_resource(construct))


def nag_summary(app: IConstruct, packs: list[RecordedPack]) -> str:
    """One line for after ``app.synth()``: which packs ran on how much, and their verdict."""
    names = ", ".join(pack.name for pack in packs)
    if not all(pack.verdicts for pack in packs):
        return f"cdk-nag: not every pack ran ({names}): was validation skipped?"
    resources = _resources(app)
    acknowledged = sum(1 for rules in _acknowledged(app) for rule in rules if not _is_control(rule))
    verdict = ("passed: 0 unacknowledged findings" if all(all(pack.verdicts) for pack in packs)
               else "FAILED")
    return (f"cdk-nag: {names} ran on {resources} resources and {verdict} "
            f"({acknowledged} acknowledged, each with its reason on the construct it concerns).")


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one exact finding on the construct it concerns (and its children)."""
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))


def acknowledge_control(construct: IConstruct, control: str, reason: str) -> None:
    """Acknowledge one Control Tower proactive control (``CT.S3.PR.2``) on the resource it
    concerns (and its children), for the reason given."""
    acknowledge(construct, f"{CONTROL_TOWER_PLUGIN}::{CONTROL_TOWER_RULES[control]}", f"{control}: {reason}")


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
