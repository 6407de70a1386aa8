"""One stack, one account: the organization trail, its buckets, key and validators in the
management (or a delegated administrator) account. Run with ``cdk synth --app "python
single_stack.py"`` (or ``python single_stack.py``) after ``pip install secure-trail``."""

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions

from secure_trail import SecureTrail, register_nag_packs

app = cdk.App()
stack = cdk.Stack(app, "OrgTrail", env=cdk.Environment(account="111111111111", region="eu-west-1"))
trail = SecureTrail(
    stack, "SecureTrail",
    org_id="o-a1b2c3d4e5",
    alert_subscriptions=["security@example.com"],
)
# Your own alarm on the digest validator's tampering findings.
tampering = cloudwatch.Alarm(stack, "AnyTampering", metric=trail.metric_tampering_findings(), threshold=0,
                             comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                             evaluation_periods=1)
tampering.add_alarm_action(actions.SnsAction(trail.alerts_topic))
register_nag_packs(app)
app.synth()
