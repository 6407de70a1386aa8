"""Fixtures that run a module's template tests on the single stack and on one stack of the
organization shape (Log Archive or Trail): import the pair a module needs. And the stack that
brings its own parts, which the ``brought_parts`` fixture synthesizes once for the run."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns

from conftest import DEPLOY_ACCOUNT, MANAGEMENT_ACCOUNT, ORG_ID, REGION, SHAPES, TRAIL_NAME, cdk_json_context
from secure_trail import SecureTrail


@pytest.fixture(scope="module", params=SHAPES, name="template")
def single_or_log_archive_template(request, template, log_archive_template):
    return template if request.param == "single" else log_archive_template


@pytest.fixture(scope="module", name="full_template")
def single_or_log_archive_full_template(template, full_template, log_archive_template, full_log_archive_template):
    return full_template if template is not log_archive_template else full_log_archive_template


@pytest.fixture(scope="module", params=SHAPES, name="template")
def single_or_trail_template(request, template, trail_template):
    return template if request.param == "single" else trail_template


@pytest.fixture(scope="module", name="full_template")
def single_or_trail_full_template(template, full_template, trail_template, full_trail_template):
    return full_template if template is not trail_template else full_trail_template


# The parts the "Brought" stack's trail is given: an existing bucket, another account's key,
# an existing topic and log group.
BROUGHT_BUCKET = "log-archive-trail-bucket"
BROUGHT_KEY_ARN = "arn:aws:kms:eu-west-1:333333333333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BROUGHT_TOPIC_ARN = f"arn:aws:sns:{REGION}:{DEPLOY_ACCOUNT}:existing-trail-topic"
BROUGHT_LOG_GROUP = "existing-trail-log-group"


def synthesize_brought_parts(outdir: Path) -> cdk.Stack:
    """The "Brought" stack, synthesized into ``outdir``: a trail given the parts above (so the
    access-log audit off), with an alert subscription."""
    app = cdk.App(outdir=str(outdir), context={**cdk_json_context(), "aws:cdk:bundling-stacks": []})
    stack = cdk.Stack(app, "Brought", env=cdk.Environment(account=DEPLOY_ACCOUNT, region=REGION))
    SecureTrail(stack, "Trail", org_id=ORG_ID, trail_name=TRAIL_NAME, management_account_id=MANAGEMENT_ACCOUNT,
                bucket=s3.Bucket.from_bucket_name(stack, "Bucket", BROUGHT_BUCKET),
                key=kms.Key.from_key_arn(stack, "Key", BROUGHT_KEY_ARN),
                sns_topic=sns.Topic.from_topic_arn(stack, "Topic", BROUGHT_TOPIC_ARN),
                cloud_watch_log_group=logs.LogGroup.from_log_group_name(stack, "LogGroup", BROUGHT_LOG_GROUP),
                audit_access_logs=False, alert_subscriptions=["security@example.com"])
    app.synth()
    return stack
