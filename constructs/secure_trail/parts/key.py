"""The KMS key of the trail and the key-policy statements CloudTrail, SNS and CloudWatch
Logs need, each scoped by service, encryption context and source."""

from __future__ import annotations

from typing import Sequence

from aws_cdk import Annotations, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ..names import TrailIdentity
from ..props import SecureTrailConfigError
from ..validators.state_key import account_administration_statements

CLOUDTRAIL = iam.ServicePrincipal("cloudtrail.amazonaws.com")
CLOUDTRAIL_CONTEXT = "kms:EncryptionContext:aws:cloudtrail:arn"
S3_CONTEXT = "kms:EncryptionContext:aws:s3:arn"


def cloudtrail_context_condition() -> dict:
    """Decrypt what CloudTrail encrypted: its context key must be present."""
    return {"Null": {CLOUDTRAIL_CONTEXT: "false"}}


def s3_bucket_key_condition(*, region: str, bucket_arn: str, logs_prefix: str) -> dict:
    """Decrypt through S3 for the trail bucket only: with an S3 Bucket Key, S3 asks KMS with
    the bucket's ARN as encryption context (``aws:s3:arn``), not CloudTrail's; without one,
    with the object's ARN."""
    return {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
            "ArnLike": {S3_CONTEXT: [bucket_arn, f"{bucket_arn}/{logs_prefix}*"]}}


def reader_decrypt_conditions(*, region: str, bucket_arn: str, logs_prefix: str) -> list[dict]:
    """The two forms under which a reader may decrypt the logs (one statement each:
    conditions within a statement are all required)."""
    return [cloudtrail_context_condition(),
            s3_bucket_key_condition(region=region, bucket_arn=bucket_arn, logs_prefix=logs_prefix)]


def key_administration_statements() -> list[iam.PolicyStatement]:
    """The account (key administrators through IAM) manages the key, never uses it; grants
    only for AWS resources, and nobody creates any other (Control Tower CT.KMS.PR.3)."""
    return [
        *account_administration_statements(),
        iam.PolicyStatement(sid="AccountGrantsForAwsResourcesOnly", principals=[iam.AccountRootPrincipal()],
                            actions=["kms:CreateGrant"], resources=["*"],
                            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}}),
    ]


class TrailKey(Construct):
    """A symmetric key with rotation (or a key you bring) that only this trail can
    encrypt with, and only named readers can decrypt through CloudTrail's context."""

    def __init__(self, scope: Construct, construct_id: str, *, identity: TrailIdentity,
                 existing_key: kms.IKey | None = None, log_reader_arns: Sequence[str] = (),
                 topic_names: Sequence[str] = (), log_group_names: Sequence[str] = (),
                 alarm_topic_name: str | None = None, encrypts_logs: bool = True,
                 trail_bucket_arn: str | None = None, alias_name: str | None = None,
                 description: str | None = None) -> None:
        """``encrypts_logs``: the key CloudTrail encrypts logs and digests with (False for the
        Trail stack's key of the organization shape, which only encrypts the delivery topic and
        the log group). ``trail_bucket_arn``: a derived (never a token) ARN of the trail bucket,
        for the readers' S3 Bucket Key form. ``alias_name``: @default ``alias/<trail-name>``."""
        super().__init__(scope, construct_id)
        if existing_key is not None:
            _require_symmetric(existing_key)
            self.key: kms.IKey = existing_key
        else:
            self.key = kms.Key(
                self, "Key",
                description=description or f"Encrypts CloudTrail logs, digests and topics of {identity.trail_name}",
                enable_key_rotation=True,
                alias=alias_name or identity.log_key_alias,
                removal_policy=RemovalPolicy.RETAIN,
                # CDK's default gives the account root kms:*, so any IAM principal IAM allows
                # could decrypt the logs: the account only administers the key, and each
                # reader is named in this policy.
                policy=iam.PolicyDocument(statements=key_administration_statements()),
            )
        trail_source = {"aws:SourceArn": identity.trail_arn}
        if encrypts_logs:
            self._allow_cloudtrail_logs(identity, log_reader_arns, trail_bucket_arn)
        if topic_names:
            # CloudTrail publishes to the encrypted delivery topic.
            self._allow("CloudTrailPublishToEncryptedTopics", CLOUDTRAIL,
                        ["kms:GenerateDataKey*", "kms:Decrypt"], {
                            "StringEquals": {
                                **trail_source,
                                "kms:EncryptionContext:aws:sns:topicArn":
                                    [identity.topic_arn(name) for name in topic_names],
                            }})
        if log_group_names:
            self._allow("CloudWatchLogsEncryptOwnLogGroups",
                        iam.ServicePrincipal(f"logs.{identity.home_region}.amazonaws.com"),
                        ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                         "kms:Describe*"],
                        {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn":
                                       [identity.log_group_arn(name) for name in log_group_names]}})
        if alarm_topic_name:
            # CloudWatch alarms publish to the encrypted alerts topic.
            self._allow("CloudWatchAlarmsPublishToAlerts", iam.ServicePrincipal("cloudwatch.amazonaws.com"),
                        ["kms:GenerateDataKey*", "kms:Decrypt"], {"StringEquals": {
                            "aws:SourceAccount": identity.account,
                            "kms:EncryptionContext:aws:sns:topicArn": identity.topic_arn(alarm_topic_name)}})

    def _allow_cloudtrail_logs(self, identity: TrailIdentity, log_reader_arns: Sequence[str],
                               trail_bucket_arn: str | None) -> None:
        trail_source = {"aws:SourceArn": identity.trail_arn}
        self._allow("CloudTrailEncryptLogs", CLOUDTRAIL, ["kms:GenerateDataKey*"], {
            "StringLike": {CLOUDTRAIL_CONTEXT: identity.any_trail_of_management_account},
            "StringEquals": trail_source,
        })
        self._allow("CloudTrailDescribeKey", CLOUDTRAIL, ["kms:DescribeKey"],
                    {"StringEquals": trail_source})
        # The trail bucket uses an S3 Bucket Key: CloudTrail then also needs Decrypt to
        # create or update the trail.
        self._allow("CloudTrailDecryptForBucketKey", CLOUDTRAIL, ["kms:Decrypt"],
                    {"StringEquals": trail_source})
        if log_reader_arns:
            readers = iam.CompositePrincipal(*(iam.ArnPrincipal(arn) for arn in log_reader_arns))
            self._allow("LogReadersDecryptCloudTrailLogsOnly", readers, ["kms:Decrypt"],
                        cloudtrail_context_condition())
            if trail_bucket_arn is not None:
                self._allow("LogReadersDecryptTrailBucketThroughS3", readers, ["kms:Decrypt"],
                            s3_bucket_key_condition(region=identity.home_region, bucket_arn=trail_bucket_arn,
                                                    logs_prefix=identity.aws_logs_prefix))

    def _allow(self, sid: str, principal: iam.IPrincipal, actions: list[str],
               conditions: dict) -> None:
        result = self.key.add_to_resource_policy(iam.PolicyStatement(
            sid=sid, principals=[principal], actions=actions, resources=["*"],
            conditions=conditions))
        if not result.statement_added:
            Annotations.of(self).add_warning_v2(
                "secure-trail:imported-key-policy",
                f"The imported key's policy cannot be edited here: add statement {sid} to it "
                "yourself (docs/constructs.md says what the trail needs of a key), or CloudTrail cannot use it.")


def _require_symmetric(key: kms.IKey) -> None:
    cfn = key.node.default_child
    if not isinstance(cfn, kms.CfnKey):
        return  # imported: its spec cannot be seen at synth; the warning above applies
    spec = cfn.key_spec or "SYMMETRIC_DEFAULT"
    usage = cfn.key_usage or "ENCRYPT_DECRYPT"
    if spec != "SYMMETRIC_DEFAULT" or usage != "ENCRYPT_DECRYPT":
        raise SecureTrailConfigError(
            f"key: {key.node.path} has key spec {spec} and usage {usage}; CloudTrail only "
            "encrypts with a symmetric key: use KeySpec.SYMMETRIC_DEFAULT and "
            "KeyUsage.ENCRYPT_DECRYPT, or leave key unset for a new one.")
