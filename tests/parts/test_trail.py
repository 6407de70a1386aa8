"""The organization trail's own settings."""

import aws_cdk as cdk
from aws_cdk.assertions import Match, Template

from conftest import (LOG_ARCHIVE_ACCOUNT, ORG_ACCESS_LOG_BUCKET, ORG_TRAIL_BUCKET, REGION, build_stack,
                      default_props, resolve_arn_join, trail_key_id)

from shape_fixtures import single_or_trail_full_template, single_or_trail_template  # noqa: F401


TRAIL = "AWS::CloudTrail::Trail"


def trail(template) -> dict:
    (resource,) = template.find_resources(TRAIL).values()
    return resource


def test_organization_multi_region_global_events_with_log_file_validation(template):
    template.has_resource_properties(TRAIL, {
        "TrailName": "org-trail", "IsLogging": True, "IsOrganizationTrail": True,
        "IsMultiRegionTrail": True, "IncludeGlobalServiceEvents": True,
        "EnableLogFileValidation": True})


def test_encrypted_with_the_key_and_delivering_to_bucket_and_topic(template, trail_template):
    props = trail(template)["Properties"]
    if template is trail_template:  # the Log Archive's key and bucket, by their derived names
        assert resolve_arn_join(props["KMSKeyId"]) == f"arn:aws:kms:{REGION}:{LOG_ARCHIVE_ACCOUNT}:alias/org-trail"
        assert props["S3BucketName"] == ORG_TRAIL_BUCKET
        assert props["SnsTopicName"]["Ref"].startswith("SecureTrailTopicsDelivery")
        return
    key_id = trail_key_id(template)
    assert props["KMSKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert props["S3BucketName"]["Ref"].startswith("SecureTrailTrailLogsBucket")
    assert props["SnsTopicName"]["Ref"].startswith("SecureTrailTopicsDelivery")


def test_read_and_write_management_events_are_logged(template):
    selectors = trail(template)["Properties"]["AdvancedEventSelectors"]
    assert selectors == [{"Name": "All management events", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]}]}]  # no readOnly filter: both


def test_cloudwatch_logs_on_by_default(template):
    props = trail(template)["Properties"]
    assert props["CloudWatchLogsLogGroupArn"]["Fn::GetAtt"][0].startswith("SecureTrailCloudWatchLogsLogGroup")
    assert props["CloudWatchLogsRoleArn"]["Fn::GetAtt"][0].startswith("SecureTrailCloudWatchLogsCloudTrailRole")


def test_insights_and_data_events_off_by_default(template):
    props = trail(template)["Properties"]
    assert "InsightSelectors" not in props
    assert all(s["FieldSelectors"][0]["Equals"] == ["Management"] for s in props["AdvancedEventSelectors"])


def test_insights_when_asked(full_template):
    assert trail(full_template)["Properties"]["InsightSelectors"] == [
        {"InsightType": "ApiCallRateInsight"}, {"InsightType": "ApiErrorRateInsight"}]


def test_s3_data_events_exclude_both_log_buckets(full_template):
    selectors = trail(full_template)["Properties"]["AdvancedEventSelectors"]
    (s3_selector,) = [s for s in selectors if {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}
                      in s["FieldSelectors"]]
    (arn_field,) = [f for f in s3_selector["FieldSelectors"] if f["Field"] == "resources.ARN"]
    if "Fn::GetAtt" not in str(arn_field):  # the organization shape: the derived names
        assert [resolve_arn_join(part) for part in arn_field["NotStartsWith"]] == [
            f"arn:aws:s3:::{ORG_TRAIL_BUCKET}/", f"arn:aws:s3:::{ORG_ACCESS_LOG_BUCKET}/"]
        return
    excluded = [part["Fn::Join"][1][0]["Fn::GetAtt"][0] for part in arn_field["NotStartsWith"]]
    assert len(excluded) == 2
    assert any(e.startswith("SecureTrailTrailLogsBucket") for e in excluded)
    assert any(e.startswith("SecureTrailAccessLogsBucket") for e in excluded)


def test_lambda_data_events_when_asked(full_template):
    selectors = trail(full_template)["Properties"]["AdvancedEventSelectors"]
    assert any({"Field": "resources.type", "Equals": ["AWS::Lambda::Function"]} in s["FieldSelectors"]
               for s in selectors)


def test_trail_is_created_after_the_policies_it_depends_on(template, trail_template):
    resource = trail(template)
    depends_on = resource["DependsOn"]
    if template is trail_template:
        # The bucket and key policies are the Log Archive stack's: the Trail stack depends on
        # that stack (test_organization.py); here the topic and log group policies.
        assert len(depends_on) == 2
        for prefix in ("SecureTrailTopicsDeliveryPolicy", "SecureTrailCloudWatchLogsWriteTrailLogGroup"):
            assert any(d.startswith(prefix) for d in depends_on), (prefix, depends_on)
        return
    for prefix in ("SecureTrailTrailLogsBucketPolicy", "SecureTrailTopicsDeliveryPolicy",
                   "SecureTrailCloudWatchLogsWriteTrailLogGroup"):
        assert any(d.startswith(prefix) for d in depends_on), (prefix, depends_on)
    # The key policy is part of the key, which the trail refers to: that orders them too
    # (a DependsOn as well would be redundant: cfn-lint W3005).
    key_id = trail_key_id(template)
    assert resource["Properties"]["KMSKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert key_id not in depends_on


def test_cloudwatch_logs_can_be_turned_off():
    from aws_cdk.assertions import Template
    from conftest import build_stack, default_props
    template = Template.from_stack(build_stack(default_props(cloud_watch_logs=False)))
    groups = template.find_resources("AWS::Logs::LogGroup").values()
    assert all(g["Properties"]["LogGroupName"].startswith(("/aws/lambda/org-trail-", "/aws/vendedlogs/states/org-trail-"))
               for g in groups)
    template.has_resource_properties(TRAIL, {"CloudWatchLogsLogGroupArn": Match.absent()})


def test_the_trail_is_tagged_for_security_hub_cloudtrail_9_and_keeps_the_users_tags():
    stack = build_stack(default_props())
    cdk.Tags.of(stack).add("cost-center", "security")
    tags = next(iter(Template.from_stack(stack).find_resources("AWS::CloudTrail::Trail").values()))["Properties"]["Tags"]
    assert {"Key": "managed-by", "Value": "secure-trail"} in tags
    assert {"Key": "cost-center", "Value": "security"} in tags
