"""One stack in a landing zone that already has its Log Archive parts: the trail writes to an
existing bucket (by name), encrypts with a key of another account (by ARN), announces each
delivery on an existing topic (by ARN) and delivers to an existing log group (by name). None
of them is created here, and their policies are not this stack's to edit: the statements
their owners must add are handed over as synth warnings, the stack outputs
``SecureTrailHandover<Part>`` and ``cdk.out/BringYourOwn.secure-trail-handover.json``. Run
with ``cdk synth --app "python bring_your_own.py"`` after ``pip install secure-trail``."""

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns

from secure_trail import SecureTrail, register_nag_packs

app = cdk.App()
stack = cdk.Stack(app, "BringYourOwn", env=cdk.Environment(account="111111111111", region="eu-west-1"))
SecureTrail(
    stack, "SecureTrail",
    org_id="o-a1b2c3d4e5",
    bucket=s3.Bucket.from_bucket_name(stack, "TrailBucket", "org-cloudtrail-logs-111111111111"),
    key=kms.Key.from_key_arn(stack, "LogArchiveKey",
                             "arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
    sns_topic=sns.Topic.from_topic_arn(stack, "DeliveryTopic", "arn:aws:sns:eu-west-1:111111111111:org-trail-delivery"),
    cloud_watch_log_group=logs.LogGroup.from_log_group_name(stack, "TrailLogGroup", "org-cloudtrail"),
    audit_access_logs=False,  # the existing bucket's server access logs are its owner's
    alert_subscriptions=["security@example.com"],
)
register_nag_packs(app)
app.synth()
