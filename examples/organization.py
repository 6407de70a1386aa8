"""Two stacks in two accounts: the Log Archive account keeps the logs (buckets, key,
validators), the management account runs the organization trail. ``cdk deploy --all``
deploys the Log Archive first. Run with ``cdk synth --app "python organization.py"``
after ``pip install secure-trail``."""

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions

from secure_trail import organization_stacks, register_nag_packs

app = cdk.App()
log_archive_stack, trail_stack = organization_stacks(
    app,
    org_id="o-a1b2c3d4e5",
    log_archive_account_id="222222222222",
    management_account_id="111111111111",
    region="eu-west-1",
    alert_subscriptions=["security@example.com"],
)
log_archive = log_archive_stack.log_archive  # the Log Archive half: buckets, key, validators
org_trail = trail_stack.org_trail  # the management account half: the trail, its topic and log group
# Alarms of your own on the halves' metrics, each notifying its own account's alerts topic.
for half, metric in ((log_archive, log_archive.metric_tampering_findings()),
                     (org_trail, org_trail.metric_posture_findings())):
    alarm = cloudwatch.Alarm(half, f"Any{metric.metric_name}", metric=metric, threshold=0, evaluation_periods=1,
                             comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD)
    alarm.add_alarm_action(actions.SnsAction(half.alerts_topic))
register_nag_packs(app)
app.synth()
