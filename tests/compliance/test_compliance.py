"""cdk-nag: zero unacknowledged findings in all four packs, and each acknowledgement is
exact, local and explained."""

import re

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3

from secure_trail import NAG_PACKS


@pytest.mark.parametrize("pack", NAG_PACKS, ids=lambda p: p.__name__)
@pytest.mark.parametrize("which", ["default", "full", "log_archive", "trail", "full_log_archive", "full_trail"])
def test_no_unacknowledged_findings(pack, which, default_stack, full_stack, org_stacks, full_org_stacks):
    stack = {"default": default_stack, "full": full_stack, "log_archive": org_stacks[0], "trail": org_stacks[1],
             "full_log_archive": full_org_stacks[0], "full_trail": full_org_stacks[1]}[which]
    report = pack().validate_scope(stack)
    assert [(v.rule_name, [r.resource_logical_id for r in v.violating_resources])
            for v in report.violations] == []


@pytest.mark.parametrize("pack", NAG_PACKS, ids=lambda p: p.__name__)
def test_the_packs_do_flag_an_unhardened_bucket(pack):
    """The zero above means something: the same pack fails a plain bucket."""
    stack = cdk.Stack(cdk.App(), "Plain")
    s3.Bucket(stack, "Plain")
    assert pack().validate_scope(stack).violations


# A cdk-nag finding, or a Control Tower control (by its Guard rule's name).
RULE_ID = re.compile(r"^Annotation::(AwsSolutions|NIST\.800\.53\.R5|HIPAA\.Security|PCI\.DSS\.321)"
                     r"-[A-Za-z0-9]+(\[.+\])?$|^cdk-validator-cfnguard::[a-z0-9_]+$")


def acknowledgements(stack) -> dict[str, dict[str, str]]:
    """construct path -> {acknowledged rule id: reason}"""
    found: dict[str, dict[str, str]] = {}
    for construct in stack.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                found.setdefault(construct.node.path, {}).update(entry.data)
    return found


def test_no_acknowledgement_on_the_stack_or_the_app(default_stack):
    acked_paths = acknowledgements(default_stack)
    assert set(acked_paths) == {f"SecureTrail/SecureTrail/{path}" for path in (
        "AccessLogs/Bucket", "TrailLogs/Bucket", "CloudWatchLogs/WriteTrailLogGroup", "ValidatorsTable/Table",
        "AccessLogAuditor/Work/DeadLetters", "AccessLogAuditor/Auditor/Permissions", "AccessLogAuditor/Auditor/Function",
        "DigestValidator/Work/DeadLetters", "DigestValidator/Planner/Function", "DigestValidator/Worker/Function",
        "DigestValidator/Worker/Permissions", "DigestValidator/Planner/Permissions", "DigestValidator/Backfill/Bucket",
        "DigestValidator/Backfill/Permissions", "PostureWatcher/DeadLetters", "PostureWatcher/Watcher/Function",
        "PostureWatcher/Watcher/Permissions", "PostureWatcher/FailedCalls/Work/DeadLetters",
        "PostureWatcher/FailedCalls/Summarizer/Function", "TrailWatch/Work/DeadLetters", "TrailWatch/Watch/Function")}
    assert default_stack.node.path not in acked_paths
    assert "SecureTrail/SecureTrail" not in acked_paths


def test_the_organization_stacks_acknowledge_only_on_their_resources(org_stacks):
    log_archive, trail = org_stacks
    assert set(acknowledgements(trail)) == {f"SecureTrailTrail/SecureTrail/{path}" for path in (
        "CloudWatchLogs/WriteTrailLogGroup", "ValidatorsTable/Table", "PostureWatcher/DeadLetters",
        "PostureWatcher/Watcher/Function", "PostureWatcher/Watcher/Permissions",
        # the failed-calls function of the trail account publishes to the Log Archive's topic (key/*)
        "PostureWatcher/FailedCalls/Work/DeadLetters", "PostureWatcher/FailedCalls/Summarizer/Function",
        "PostureWatcher/FailedCalls/Summarizer/Permissions", "Trail/Trail")}
    assert set(acknowledgements(log_archive)) == {f"SecureTrailLogArchive/SecureTrail/{path}" for path in (
        "AccessLogs/Bucket", "TrailLogs/Bucket", "ValidatorsTable/Table",
        "AccessLogAuditor/Work/DeadLetters", "AccessLogAuditor/Auditor/Permissions", "AccessLogAuditor/Auditor/Function",
        "DigestValidator/Work/DeadLetters", "DigestValidator/Planner/Function", "DigestValidator/Worker/Function",
        "DigestValidator/Worker/Permissions", "DigestValidator/Planner/Permissions", "DigestValidator/Backfill/Bucket",
        "DigestValidator/Backfill/Permissions", "PostureWatcher/DeadLetters", "PostureWatcher/Watcher/Function",
        "PostureWatcher/Watcher/Permissions", "PostureWatcher/FailedCalls/Work/DeadLetters",
        "PostureWatcher/FailedCalls/Summarizer/Function", "TrailWatch/Work/DeadLetters", "TrailWatch/Watch/Function")}


@pytest.mark.parametrize("which", ["default", "log_archive", "trail"])
def test_every_acknowledgement_names_one_exact_finding_with_a_reason(which, default_stack, org_stacks):
    stack = {"default": default_stack, "log_archive": org_stacks[0], "trail": org_stacks[1]}[which]
    for path, acks in acknowledgements(stack).items():
        for rule, reason in acks.items():
            assert RULE_ID.match(rule), (path, rule)
            assert len(reason) >= 60, (path, rule, reason)


def test_the_only_wildcards_acknowledged_are_list_public_keys_alarms_log_streams_log_objects_backfill_runs_and_rules(
        default_stack):
    rules = [rule for acks in acknowledgements(default_stack).values() for rule in acks]
    wildcards = sorted(rule for rule in rules if "IAM5" in rule)
    backfill = "<SecureTrailDigestValidatorBackfillBucket2A03FEDF.Arn>"
    states = "arn:<AWS::Partition>:states:eu-west-1:222222222222"
    assert wildcards == sorted([
        "Annotation::AwsSolutions-IAM5[Resource::*]",
        "Annotation::AwsSolutions-IAM5[Resource::*]",
        "Annotation::AwsSolutions-IAM5[Resource::*]",  # DescribeAlarms: no resource-level permission
        "Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:eu-west-1:222222222222:rule/org-trail-*]",
        f"Annotation::AwsSolutions-IAM5[Resource::{backfill}/items/*]",
        f"Annotation::AwsSolutions-IAM5[Resource::{backfill}/items/*]",
        f"Annotation::AwsSolutions-IAM5[Resource::{backfill}/results/*]",
        "Annotation::AwsSolutions-IAM5[Resource::<SecureTrailAccessLogsBucketFE163877.Arn>/trail-bucket/*]",
        "Annotation::AwsSolutions-IAM5[Resource::<SecureTrailTrailLogsBucket3FF63E8C.Arn>/AWSLogs/*]",
        "Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:eu-west-1:"
        "222222222222:log-group:/aws/cloudtrail/org-trail:log-stream:*]",
        f"Annotation::AwsSolutions-IAM5[Resource::{states}:execution:org-trail-digest-backfill/*]",
        f"Annotation::AwsSolutions-IAM5[Resource::{states}:mapRun:org-trail-digest-backfill/*]"])
