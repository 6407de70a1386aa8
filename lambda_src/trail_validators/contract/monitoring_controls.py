"""The CIS AWS Foundations Benchmark v1.4.0 section 4 monitoring controls (Security Hub
CloudWatch.1-14, and CIS 4.15, which Security Hub does not check): one table that the
constructs (metric filters and alarms), the evidence report and the analytics tagger read.

Pure data: no boto3, no CDK, no imports of this package (the constructs reach it through
their link to this folder).

Security Hub passes a control only when the log group's filter pattern is exactly the
documented text ("additional fields or terms cannot be added"), so each pattern is copied
from the AWS documentation, never built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CIS_BENCHMARK = "CIS AWS Foundations Benchmark v1.4.0"


@dataclass(frozen=True)
class MonitoringControl:
    control_id: str
    """``CloudWatch.<n>`` (the Security Hub control), or ``CIS.4.15`` for the one it lacks."""
    cis_section: str
    """The section of :data:`CIS_BENCHMARK`, e.g. ``4.3``."""
    title: str
    metric_name: str
    filter_pattern: str
    """Exactly as AWS documents it."""

    @property
    def event_names(self) -> frozenset[str]:
        """The CloudTrail ``eventName`` values the pattern names (quoted or not)."""
        return frozenset(re.findall(r'\$\.eventName\s*=\s*"?([A-Za-z0-9]+)"?', self.filter_pattern))


# CloudWatch.1-14: the remediation patterns of
# https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html (AWS now
# scopes CloudWatch.4 to iam.amazonaws.com and CloudWatch.13 to ec2.amazonaws.com, unlike
# CIS v1.4.0). CIS.4.15: the CIS AWS Foundations Benchmark v1.4.0, section 4.15.
MONITORING_CONTROLS: tuple[MonitoringControl, ...] = (
    MonitoringControl(
        "CloudWatch.1", "4.3", 'Usage of the "root" user', "RootUserUsage",
        '{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}'),
    MonitoringControl(
        "CloudWatch.2", "4.1", "Unauthorized API calls", "UnauthorizedApiCalls",
        '{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}'),
    MonitoringControl(
        "CloudWatch.3", "4.2", "Management Console sign-in without MFA", "ConsoleSignInWithoutMfa",
        '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") '
        '&& ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }'),
    MonitoringControl(
        "CloudWatch.4", "4.4", "IAM policy changes", "IamPolicyChanges",
        "{($.eventSource=iam.amazonaws.com) && (($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) "
        "|| ($.eventName=DeleteUserPolicy) || ($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) "
        "|| ($.eventName=PutUserPolicy) || ($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) "
        "|| ($.eventName=CreatePolicyVersion) || ($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) "
        "|| ($.eventName=DetachRolePolicy) || ($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) "
        "|| ($.eventName=AttachGroupPolicy) || ($.eventName=DetachGroupPolicy))}"),
    MonitoringControl(
        "CloudWatch.5", "4.5", "CloudTrail configuration changes", "CloudTrailConfigurationChanges",
        "{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) "
        "|| ($.eventName=StartLogging) || ($.eventName=StopLogging)}"),
    MonitoringControl(
        "CloudWatch.6", "4.6", "AWS Management Console authentication failures", "ConsoleAuthenticationFailures",
        '{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}'),
    MonitoringControl(
        "CloudWatch.7", "4.7", "Disabling or scheduled deletion of customer managed keys", "KmsKeyDisableOrDeletion",
        "{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}"),
    MonitoringControl(
        "CloudWatch.8", "4.8", "S3 bucket policy changes", "S3BucketPolicyChanges",
        "{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl) || ($.eventName=PutBucketPolicy) "
        "|| ($.eventName=PutBucketCors) || ($.eventName=PutBucketLifecycle) || ($.eventName=PutBucketReplication) "
        "|| ($.eventName=DeleteBucketPolicy) || ($.eventName=DeleteBucketCors) || ($.eventName=DeleteBucketLifecycle) "
        "|| ($.eventName=DeleteBucketReplication))}"),
    MonitoringControl(
        "CloudWatch.9", "4.9", "AWS Config configuration changes", "ConfigConfigurationChanges",
        "{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) "
        "|| ($.eventName=DeleteDeliveryChannel) || ($.eventName=PutDeliveryChannel) "
        "|| ($.eventName=PutConfigurationRecorder))}"),
    MonitoringControl(
        "CloudWatch.10", "4.10", "Security group changes", "SecurityGroupChanges",
        "{($.eventName=AuthorizeSecurityGroupIngress) || ($.eventName=AuthorizeSecurityGroupEgress) "
        "|| ($.eventName=RevokeSecurityGroupIngress) || ($.eventName=RevokeSecurityGroupEgress) "
        "|| ($.eventName=CreateSecurityGroup) || ($.eventName=DeleteSecurityGroup)}"),
    MonitoringControl(
        "CloudWatch.11", "4.11", "Network access control list (NACL) changes", "NetworkAclChanges",
        "{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || ($.eventName=DeleteNetworkAcl) "
        "|| ($.eventName=DeleteNetworkAclEntry) || ($.eventName=ReplaceNetworkAclEntry) "
        "|| ($.eventName=ReplaceNetworkAclAssociation)}"),
    MonitoringControl(
        "CloudWatch.12", "4.12", "Changes to network gateways", "NetworkGatewayChanges",
        "{($.eventName=CreateCustomerGateway) || ($.eventName=DeleteCustomerGateway) "
        "|| ($.eventName=AttachInternetGateway) || ($.eventName=CreateInternetGateway) "
        "|| ($.eventName=DeleteInternetGateway) || ($.eventName=DetachInternetGateway)}"),
    MonitoringControl(
        "CloudWatch.13", "4.13", "Route table changes", "RouteTableChanges",
        "{($.eventSource=ec2.amazonaws.com) && (($.eventName=CreateRoute) || ($.eventName=CreateRouteTable) "
        "|| ($.eventName=ReplaceRoute) || ($.eventName=ReplaceRouteTableAssociation) "
        "|| ($.eventName=DeleteRouteTable) || ($.eventName=DeleteRoute) || ($.eventName=DisassociateRouteTable))}"),
    MonitoringControl(
        "CloudWatch.14", "4.14", "VPC changes", "VpcChanges",
        "{($.eventName=CreateVpc) || ($.eventName=DeleteVpc) || ($.eventName=ModifyVpcAttribute) "
        "|| ($.eventName=AcceptVpcPeeringConnection) || ($.eventName=CreateVpcPeeringConnection) "
        "|| ($.eventName=DeleteVpcPeeringConnection) || ($.eventName=RejectVpcPeeringConnection) "
        "|| ($.eventName=AttachClassicLinkVpc) || ($.eventName=DetachClassicLinkVpc) "
        "|| ($.eventName=DisableVpcClassicLink) || ($.eventName=EnableVpcClassicLink)}"),
    MonitoringControl(
        "CIS.4.15", "4.15", "AWS Organizations changes", "OrganizationsChanges",
        '{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = "AcceptHandshake") '
        '|| ($.eventName = "AttachPolicy") || ($.eventName = "CreateAccount") '
        '|| ($.eventName = "CreateOrganizationalUnit") || ($.eventName = "CreatePolicy") '
        '|| ($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") '
        '|| ($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") '
        '|| ($.eventName = "DetachPolicy") || ($.eventName = "DisablePolicyType") '
        '|| ($.eventName = "EnablePolicyType") || ($.eventName = "InviteAccountToOrganization") '
        '|| ($.eventName = "LeaveOrganization") || ($.eventName = "MoveAccount") '
        '|| ($.eventName = "RemoveAccountFromOrganization") || ($.eventName = "UpdatePolicy") '
        '|| ($.eventName = "UpdateOrganizationalUnit")) }'),
)
