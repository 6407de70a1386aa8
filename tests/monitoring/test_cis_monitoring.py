"""CIS monitoring: each metric filter carries exactly the pattern AWS documents for its
Security Hub control, each alarm watches its filter's metric and notifies an alerts topic
of its own stack, in both deployment shapes; controls can be turned off by id."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template

from conftest import SHAPES, build_organization, build_stack, default_props, organization_props
from secure_trail import SecureTrailConfigError

# Copied by hand from the documentation, never imported from the code under test.
# CloudWatch.1-14: https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html
# (each control's "Remediation", "Define pattern, Filter pattern").
# CIS.4.15: CIS AWS Foundations Benchmark v1.4.0, 4.15 "Ensure a log metric filter and alarm
# exists for AWS Organizations changes".
DOCUMENTED_PATTERNS = {
    "CloudWatch.1": '{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}',
    "CloudWatch.2": '{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}',
    "CloudWatch.3": '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }',
    "CloudWatch.4": "{($.eventSource=iam.amazonaws.com) && (($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || ($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || ($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || ($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || ($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || ($.eventName=DetachGroupPolicy))}",
    "CloudWatch.5": "{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) || ($.eventName=StartLogging) || ($.eventName=StopLogging)}",
    "CloudWatch.6": '{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}',
    "CloudWatch.7": "{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}",
    "CloudWatch.8": "{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl) || ($.eventName=PutBucketPolicy) || ($.eventName=PutBucketCors) || ($.eventName=PutBucketLifecycle) || ($.eventName=PutBucketReplication) || ($.eventName=DeleteBucketPolicy) || ($.eventName=DeleteBucketCors) || ($.eventName=DeleteBucketLifecycle) || ($.eventName=DeleteBucketReplication))}",
    "CloudWatch.9": "{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) || ($.eventName=DeleteDeliveryChannel) || ($.eventName=PutDeliveryChannel) || ($.eventName=PutConfigurationRecorder))}",
    "CloudWatch.10": "{($.eventName=AuthorizeSecurityGroupIngress) || ($.eventName=AuthorizeSecurityGroupEgress) || ($.eventName=RevokeSecurityGroupIngress) || ($.eventName=RevokeSecurityGroupEgress) || ($.eventName=CreateSecurityGroup) || ($.eventName=DeleteSecurityGroup)}",
    "CloudWatch.11": "{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || ($.eventName=DeleteNetworkAcl) || ($.eventName=DeleteNetworkAclEntry) || ($.eventName=ReplaceNetworkAclEntry) || ($.eventName=ReplaceNetworkAclAssociation)}",
    "CloudWatch.12": "{($.eventName=CreateCustomerGateway) || ($.eventName=DeleteCustomerGateway) || ($.eventName=AttachInternetGateway) || ($.eventName=CreateInternetGateway) || ($.eventName=DeleteInternetGateway) || ($.eventName=DetachInternetGateway)}",
    "CloudWatch.13": "{($.eventSource=ec2.amazonaws.com) && (($.eventName=CreateRoute) || ($.eventName=CreateRouteTable) || ($.eventName=ReplaceRoute) || ($.eventName=ReplaceRouteTableAssociation) || ($.eventName=DeleteRouteTable) || ($.eventName=DeleteRoute) || ($.eventName=DisassociateRouteTable))}",
    "CloudWatch.14": "{($.eventName=CreateVpc) || ($.eventName=DeleteVpc) || ($.eventName=ModifyVpcAttribute) || ($.eventName=AcceptVpcPeeringConnection) || ($.eventName=CreateVpcPeeringConnection) || ($.eventName=DeleteVpcPeeringConnection) || ($.eventName=RejectVpcPeeringConnection) || ($.eventName=AttachClassicLinkVpc) || ($.eventName=DetachClassicLinkVpc) || ($.eventName=DisableVpcClassicLink) || ($.eventName=EnableVpcClassicLink)}",
    "CIS.4.15": '{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = "AcceptHandshake") || ($.eventName = "AttachPolicy") || ($.eventName = "CreateAccount") || ($.eventName = "CreateOrganizationalUnit") || ($.eventName = "CreatePolicy") || ($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") || ($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") || ($.eventName = "DetachPolicy") || ($.eventName = "DisablePolicyType") || ($.eventName = "EnablePolicyType") || ($.eventName = "InviteAccountToOrganization") || ($.eventName = "LeaveOrganization") || ($.eventName = "MoveAccount") || ($.eventName = "RemoveAccountFromOrganization") || ($.eventName = "UpdatePolicy") || ($.eventName = "UpdateOrganizationalUnit")) }',
}
CIS_NAMESPACE = "SecureTrail/CIS"


@pytest.fixture(scope="module", params=SHAPES)
def log_group_template(request, template, trail_template) -> Template:
    """The template holding the trail's log group: the single stack, or the Trail stack."""
    return template if request.param == "single" else trail_template


def by_control(resources: dict, kind: str) -> dict[str, dict]:
    """control id -> the resource of ``kind`` the CIS monitoring made for it (logical ids
    carry the id without dots: CloudWatch1Filter, CIS415Alarm)."""
    found = {}
    for control_id in DOCUMENTED_PATTERNS:
        name = control_id.replace(".", "") + kind
        matches = [r for k, r in resources.items() if f"CisAlarms{name}" in k]
        assert len(matches) <= 1, (control_id, kind)
        if matches:
            found[control_id] = matches[0]
    return found


def test_each_metric_filter_has_exactly_the_documented_pattern(log_group_template):
    resources = log_group_template.to_json()["Resources"]
    filters = by_control(resources, "Filter")
    assert set(filters) == set(DOCUMENTED_PATTERNS)
    for control_id, metric_filter in filters.items():
        props = metric_filter["Properties"]
        assert props["FilterPattern"] == DOCUMENTED_PATTERNS[control_id], control_id
        (transformation,) = props["MetricTransformations"]
        assert transformation["MetricNamespace"] == CIS_NAMESPACE and transformation["MetricValue"] == "1"
        (log_group,) = [k for k, r in resources.items() if r["Type"] == "AWS::Logs::LogGroup"
                        and r["Properties"].get("LogGroupName") == "/aws/cloudtrail/org-trail"]
        assert props["LogGroupName"] == {"Ref": log_group}
    assert len({f["Properties"]["MetricTransformations"][0]["MetricName"] for f in filters.values()}) == len(filters)
    assert len(log_group_template.find_resources("AWS::Logs::MetricFilter")) == len(DOCUMENTED_PATTERNS)


def test_each_alarm_watches_its_filters_metric_and_notifies_an_alerts_topic_of_its_stack(log_group_template):
    resources = log_group_template.to_json()["Resources"]
    filters, alarms = by_control(resources, "Filter"), by_control(resources, "Alarm")
    assert set(alarms) == set(filters) == set(DOCUMENTED_PATTERNS)
    (alerts,) = [k for k, r in resources.items() if r["Type"] == "AWS::SNS::Topic"
                 and r["Properties"].get("TopicName") == "org-trail-alerts"]
    for control_id, alarm in alarms.items():
        props = alarm["Properties"]
        metric = filters[control_id]["Properties"]["MetricTransformations"][0]
        assert (props["Namespace"], props["MetricName"]) == (CIS_NAMESPACE, metric["MetricName"]), control_id
        assert "Dimensions" not in props
        assert (props["Statistic"], props["Period"], props["EvaluationPeriods"], props["Threshold"]) == ("Sum", 300, 1, 1)
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert props["TreatMissingData"] == "notBreaching"
        assert props["AlarmActions"] == [{"Ref": alerts}] and props.get("ActionsEnabled", True) is True
        assert control_id in props["AlarmDescription"]


def test_cloudwatch_may_publish_to_the_encrypted_alerts_topic_of_the_alarms_stack(log_group_template):
    resources = log_group_template.to_json()["Resources"]
    (alerts,) = [r for r in resources.values() if r["Type"] == "AWS::SNS::Topic"
                 and r["Properties"].get("TopicName") == "org-trail-alerts"]
    key_id = alerts["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    statements = resources[key_id]["Properties"]["KeyPolicy"]["Statement"]
    (publish,) = [s for s in statements if s.get("Sid") == "CloudWatchAlarmsPublishToAlerts"]
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert "kms:GenerateDataKey*" in publish["Action"]


def test_organization_shape_alarms_live_with_the_log_group_and_both_topics_reach_the_subscribers():
    log_archive, trail = (Template.from_stack(s) for s in build_organization(organization_props(
        alert_subscriptions=("ops@corp.example", "arn:aws:sqs:eu-west-1:333333333333:alerts"))))
    assert not log_archive.find_resources("AWS::Logs::MetricFilter")
    for stack in (log_archive, trail):
        subscriptions = {(s["Properties"]["Protocol"], s["Properties"]["Endpoint"])
                         for s in stack.find_resources("AWS::SNS::Subscription").values()}
        assert subscriptions == {("email", "ops@corp.example"), ("sqs", "arn:aws:sqs:eu-west-1:333333333333:alerts")}


def test_a_disabled_control_has_no_filter_and_no_alarm_and_the_others_stay():
    resources = Template.from_stack(build_stack(default_props(
        disabled_monitoring_controls=("CloudWatch.10", "CIS.4.15")))).to_json()["Resources"]
    assert set(by_control(resources, "Filter")) == set(by_control(resources, "Alarm")) == (
        set(DOCUMENTED_PATTERNS) - {"CloudWatch.10", "CIS.4.15"})


@pytest.mark.parametrize("bad", [("CloudWatch.15",), ("cloudwatch.1",), ("CloudWatch.1", "CloudWatch.1"), "CloudWatch.1"])
def test_unknown_or_malformed_control_ids_are_refused_naming_the_valid_ones(bad):
    with pytest.raises(SecureTrailConfigError, match=r"disabled_monitoring_controls.*CloudWatch\.1, CloudWatch\.2"
                       if bad != ("CloudWatch.1", "CloudWatch.1") else "each control id once"):
        default_props(disabled_monitoring_controls=bad).validate()


def test_without_cloudwatch_logs_or_posture_watcher_there_are_no_filters_no_alarms_and_no_trail_account_alerts_topic():
    single = Template.from_stack(build_stack(default_props(cloud_watch_logs=False)))
    assert not single.find_resources("AWS::Logs::MetricFilter")
    assert not by_control(single.to_json()["Resources"], "Alarm")
    _, trail = build_organization(organization_props(cloud_watch_logs=False, watch_posture=False,
                                                    alert_subscriptions=("a@corp.example",)))
    trail_template = Template.from_stack(trail)
    assert not trail_template.find_resources("AWS::Logs::MetricFilter")
    assert [t["Properties"]["TopicName"] for t in trail_template.find_resources("AWS::SNS::Topic").values()] == [
        "org-trail-delivery"]


def test_alarms_publish_even_with_both_validators_off():
    resources = Template.from_stack(build_stack(default_props(
        validate_digests=False, audit_access_logs=False))).to_json()["Resources"]
    assert len(by_control(resources, "Alarm")) == len(DOCUMENTED_PATTERNS)
    statements = [s for r in resources.values() if r["Type"] == "AWS::KMS::Key"
                  for s in r["Properties"]["KeyPolicy"]["Statement"]]
    assert any(s.get("Sid") == "CloudWatchAlarmsPublishToAlerts" for s in statements)


def test_the_readme_documents_every_alarm_with_its_exact_pattern():
    from conftest import REPO
    readme = (REPO / "docs" / "monitoring.md").read_text()
    for control_id, pattern in DOCUMENTED_PATTERNS.items():
        row = f"| {control_id} | "
        assert row in readme, control_id
        line = next(line for line in readme.splitlines() if line.startswith(row))
        assert f"`{pattern.replace('||', chr(92) + '|' + chr(92) + '|')}`" in line, control_id
