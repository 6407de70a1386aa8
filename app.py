#!/usr/bin/env python3
"""CDK app from context, checked by four cdk-nag packs and the AWS Control Tower proactive
controls: one SecureTrailStack (default), or with -c logArchiveAccountId=... a Log Archive stack
and a Trail stack in two accounts."""

import os
import sys

import aws_cdk as cdk

from secure_trail import SecureTrailStack, organization_stacks, register_nag_packs
from secure_trail.compliance import control_tower_summary, nag_summary, register_control_tower_controls
from secure_trail.context import guardrails_from_context, props_from_context

EXAMPLE_ORG_ID = "o-exampleorg1"
EXAMPLE_ALERT_SUBSCRIPTION = "security-alerts@example.com"

app = cdk.App()
props = props_from_context(app.node)
home_region = app.node.try_get_context("homeRegion") or os.environ.get("CDK_DEFAULT_REGION")
if props.log_archive_account_id:
    # Organization shape: each stack's env names its target account, so cdk.out/manifest.json
    # shows both; the Trail stack depends on (deploys after) the Log Archive stack.
    stacks = organization_stacks(
        app, props=props, region=home_region,
        trail_account_id=app.node.try_get_context("trailAccountId") or None,
        # Refused unless it is homeRegion: the key, the bucket and the trail share one region.
        log_archive_region=app.node.try_get_context("logArchiveRegion") or None,
        log_archive_stack_name=app.node.try_get_context("logArchiveStackName") or "SecureTrailLogArchive",
        trail_stack_name=app.node.try_get_context("trailStackName") or "SecureTrailTrail",
        guardrails=guardrails_from_context(app.node))
else:
    if guardrails_from_context(app.node) is not None:
        sys.exit("context guardrails: the control policies need the organization shape (-c logArchiveAccountId=...).")
    stacks = (SecureTrailStack(
        app, app.node.try_get_context("stackName") or "SecureTrail", props=props,
        # The deploying account: the management account or a delegated administrator.
        env=cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=home_region)),)
if props.org_id == EXAMPLE_ORG_ID:
    for stack in stacks:
        cdk.Annotations.of(stack).add_warning_v2(
            "secure-trail:example-org-id",
            f"orgId is the example value {EXAMPLE_ORG_ID}: deploy with -c orgId=<your o-... id>.")
if EXAMPLE_ALERT_SUBSCRIPTION in props.alert_subscriptions:
    for stack in stacks:
        cdk.Annotations.of(stack).add_warning_v2(
            "secure-trail:example-alert-subscription",
            f"alertSubscriptions holds the example address {EXAMPLE_ALERT_SUBSCRIPTION}: deploy with "
            "-c alertSubscriptions=<your address, https:// URL, SQS or Lambda ARN> (comma-separated), "
            "or nobody hears the alarms.")
packs = register_nag_packs(app)
register_control_tower_controls(app)
app.synth()  # raises, and so exits non-zero, on any unacknowledged finding
print(nag_summary(app, packs), file=sys.stderr)
passed, summary = control_tower_summary(app)
print(summary, file=sys.stderr)
if not passed:
    sys.exit(1)
