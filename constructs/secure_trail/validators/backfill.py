"""The digest backfill: years of history on a Step Functions Distributed Map over the
digest worker.

execution input ``{"since": "YYYY-MM-DD", "until": "YYYY-MM-DD"}`` --> Plan (the digest
planner writes every chain x day to the backfill bucket, JSON Lines) --> Validate (a
Distributed Map reading that list, at most ``max_concurrency`` items at once, each item the
digest worker validating one chain's day, alerts through its once-only claims; every item
runs, whatever others do, and each outcome lands under ``results/``) --> Count (DescribeMapRun)
--> the execution fails unless every planned item succeeded; a failed, timed-out or aborted
execution raises the backfill alarm.

The state machine's role holds exactly what the definition needs (no CDK grant adds to it);
its log group and the backfill bucket are encrypted with the validators' state key.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ..compliance import acknowledge, acknowledge_control, acknowledge_each_pack, nag_resource
from ..contract import (BACKFILL_FIELD, BACKFILL_ITEM_FIELD, BACKFILL_ITEMS_PREFIX, BACKFILL_RESULTS_PREFIX,
                        DEFAULT_BACKFILL_CONCURRENCY, DIGEST_BACKFILL, BackfillItem, BackfillRequest, Env)
from ..names import TrailIdentity, bucket_name
from .function import ValidatorFunction
from .state_key import ValidatorStateKey

RESULT_EXPIRATION_DAYS = 90
"""Item lists and results are kept this long."""
ITEM_ERRORS = ["BackfillError", "ConfigurationError"]
"""Errors of the item itself: retrying cannot help."""
LAMBDA_SERVICE_ERRORS = ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                         "Lambda.ClientExecutionTimeoutException", "Lambda.TooManyRequestsException"]
LOG_DELIVERY = ["logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups",
                "logs:DescribeResourcePolicies", "logs:GetLogDelivery", "logs:ListLogDeliveries",
                "logs:PutResourcePolicy", "logs:UpdateLogDelivery"]
TRACING = ["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"]


@dataclass(frozen=True)
class _Grantee:
    """The state machine's role as the state key's grants name it."""

    service: str
    role: iam.IRole
    policy: iam.ManagedPolicy
    named_function_arn: str = ""


class DigestBackfill(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, identity: TrailIdentity, planner: ValidatorFunction,
                 worker: ValidatorFunction, state_key: ValidatorStateKey, alerts_topic: sns.ITopic,
                 max_concurrency: int = DEFAULT_BACKFILL_CONCURRENCY) -> None:
        super().__init__(scope, construct_id)
        name = identity.function_name(DIGEST_BACKFILL)
        self.state_machine_name = name
        states = f"arn:{identity.partition}:states:{identity.home_region}:{identity.account}"
        self.named_state_machine_arn = f"{states}:stateMachine:{name}"
        """Built from names (no token): the role's policy names it without depending on it."""
        # A derived name: the state key's policy names the bucket, and the bucket the key.
        self.bucket = s3.Bucket(
            self, "Bucket", bucket_name=bucket_name(identity.trail_name, "backfill", identity.account,
                                                    identity.home_region),
            encryption=s3.BucketEncryption.KMS, encryption_key=state_key.key, bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL, versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED, enforce_ssl=True, minimum_tls_version=1.2,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(
                id="ExpireBackfillRuns", expiration=Duration.days(RESULT_EXPIRATION_DAYS),
                noncurrent_version_expiration=Duration.days(1),
                abort_incomplete_multipart_upload_after=Duration.days(1))])
        bucket_arn = f"arn:{identity.partition}:s3:::{self.bucket.bucket_name}"
        work_only = ("The backfill bucket holds only the backfill's work lists (account, region, day) and "
                     "per-item counts, written by the digest planner and this state machine and expiring after "
                     f"{RESULT_EXPIRATION_DAYS} days; the trail bucket and its access logs stay the evidence.")
        acknowledge(self.bucket, "AwsSolutions-S1", work_only)
        acknowledge_each_pack(self.bucket, "S3BucketLoggingEnabled", work_only)
        acknowledge_each_pack(self.bucket, "S3BucketReplicationEnabled", work_only)
        acknowledge_control(self.bucket, "CT.S3.PR.2", work_only)
        acknowledge_control(self.bucket, "CT.S3.PR.4", work_only + " Nothing reacts to its objects but the "
                            "state machine that wrote them.")
        acknowledge_control(self.bucket, "CT.S3.PR.9", work_only + " Its objects are rewritten by each run and "
                            "expire, which a retention lock would refuse.")

        items = self.bucket.arn_for_objects(f"{BACKFILL_ITEMS_PREFIX}*")
        results = self.bucket.arn_for_objects(f"{BACKFILL_RESULTS_PREFIX}*")
        planner.policy.add_statements(iam.PolicyStatement(actions=["s3:PutObject"], resources=[items]))
        state_key.grant_bucket(planner, bucket_arn, ["kms:GenerateDataKey"])
        acknowledge(planner.policy, f"AwsSolutions-IAM5[Resource::{nag_resource(self, items)}]",
                    "The planner writes one item list per backfill execution, named after the execution, "
                    f"only under {BACKFILL_ITEMS_PREFIX} of the backfill bucket.")
        planner.function.add_environment(Env.BACKFILL_BUCKET, self.bucket.bucket_name)

        self.log_group = logs.LogGroup(
            self, "Logs", log_group_name=f"/aws/vendedlogs/states/{name}", encryption_key=state_key.key,
            retention=logs.RetentionDays.ONE_YEAR, removal_policy=RemovalPolicy.RETAIN)
        state_key.allow_log_group(identity.log_group_arn(f"/aws/vendedlogs/states/{name}"),
                                  sid="CloudWatchLogsEncryptBackfillLogs")

        executions, map_runs = f"{states}:execution:{name}/*", f"{states}:mapRun:{name}/*"
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal(
            "states.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": identity.account}}),
            description=f"{name}: the digest backfill's state machine")
        self.policy = iam.ManagedPolicy(self, "Permissions", roles=[self.role], statements=[
            iam.PolicyStatement(actions=["lambda:InvokeFunction"],
                                resources=[planner.function.function_arn, worker.function.function_arn]),
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[items]),
            iam.PolicyStatement(actions=["s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts",
                                         "s3:PutObject"], resources=[results]),
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[self.named_state_machine_arn]),
            iam.PolicyStatement(actions=["states:DescribeExecution", "states:StopExecution"],
                                resources=[executions]),
            iam.PolicyStatement(actions=["states:DescribeMapRun"], resources=[map_runs]),
            iam.PolicyStatement(actions=LOG_DELIVERY, resources=["*"]),
            iam.PolicyStatement(actions=TRACING, resources=["*"])])
        grantee = _Grantee(DIGEST_BACKFILL, self.role, self.policy)
        state_key.grant_bucket(grantee, bucket_arn, ["kms:Decrypt", "kms:GenerateDataKey"])
        for resource, why in (
                (items, f"The Distributed Map reads the item list of its execution under {BACKFILL_ITEMS_PREFIX}."),
                (results, f"The Distributed Map writes each run's results under {BACKFILL_RESULTS_PREFIX}, "
                          "named by Step Functions per map run."),
                (executions, "Child executions of the Distributed Map are named by Step Functions; only "
                             "this state machine's executions are described or stopped."),
                (map_runs, "Map runs are named by Step Functions; only this state machine's are described."),
                ("*", "CloudWatch Logs vended delivery and X-Ray support no resource-level permissions "
                      "(AWS documents these statements for state machine logging and tracing); no other "
                      "action is granted on '*'.")):
            acknowledge(self.policy, f"AwsSolutions-IAM5[Resource::{nag_resource(self, resource)}]", why)

        self.state_machine = sfn.StateMachine(
            self, "StateMachine", state_machine_name=name,
            comment="Backfill: every chain x day from since to until, validated by the digest worker",
            definition_body=sfn.DefinitionBody.from_chainable(
                _definition(self, planner=planner, worker=worker, bucket=self.bucket,
                            max_concurrency=max_concurrency)),
            role=iam.Role.from_role_arn(self, "StateMachineRole", self.role.role_arn, mutable=False),
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
            tracing_enabled=True)
        self.state_machine.node.add_dependency(self.policy)
        # CDK's own statements for the Distributed Map's child executions cannot attach to the
        # immutable role (the policy above grants them, scoped to this state machine), and an
        # unattached policy is never synthesized: drop it from the tree too.
        self.state_machine.node.try_remove_child("DistributedMapPolicy")

        metric = cloudwatch.MathExpression(
            expression="failed + timedOut + aborted", label="Backfill executions that did not succeed",
            period=Duration.minutes(5),
            using_metrics={"failed": self.state_machine.metric_failed(statistic="Sum"),
                           "timedOut": self.state_machine.metric_timed_out(statistic="Sum"),
                           "aborted": self.state_machine.metric_aborted(statistic="Sum")})
        self.alarm = cloudwatch.Alarm(
            self, "NotSucceeded", metric=metric, threshold=1, evaluation_periods=1,
            alarm_description="A digest backfill execution failed, timed out or was stopped: see the FAILED "
                              f"results under {BACKFILL_RESULTS_PREFIX} of the backfill bucket",
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
        self.alarm.add_alarm_action(cloudwatch_actions.SnsAction(alerts_topic))


def _definition(scope: Construct, *, planner: ValidatorFunction, worker: ValidatorFunction, bucket: s3.IBucket,
                max_concurrency: int) -> sfn.IChainable:
    plan = tasks.LambdaInvoke(
        scope, "Plan", lambda_function=planner.function, comment="Write every chain x day to the backfill bucket",
        payload=sfn.TaskInput.from_object({BACKFILL_FIELD: {
            **{field: sfn.JsonPath.string_at(f"$.{field}") for field in BackfillRequest.FIELDS},
            "execution": sfn.JsonPath.string_at("$$.Execution.Name")}}),
        payload_response_only=True, retry_on_service_exceptions=False, result_path="$.plan")
    plan.add_retry(errors=ITEM_ERRORS, max_attempts=0)
    plan.add_retry(errors=LAMBDA_SERVICE_ERRORS, interval=Duration.seconds(5), backoff_rate=2, max_attempts=6)

    validate_day = tasks.LambdaInvoke(
        scope, "ValidateChainDay", lambda_function=worker.function, comment="The digest worker: one chain, one day",
        payload_response_only=True, retry_on_service_exceptions=False)
    validate_day.add_retry(errors=ITEM_ERRORS, max_attempts=0)
    # The worker's reserved concurrency is shared with the hourly runs: throttles wait.
    validate_day.add_retry(errors=LAMBDA_SERVICE_ERRORS, interval=Duration.seconds(10), backoff_rate=2,
                           max_attempts=8, max_delay=Duration.minutes(5))
    validate_day.add_retry(errors=["States.ALL"], interval=Duration.seconds(30), backoff_rate=2, max_attempts=2)

    chain_days = sfn.DistributedMap(
        scope, "ValidateChainDays", comment="Every chain x day, at most max_concurrency at once",
        item_reader=sfn.S3JsonLItemReader(bucket=bucket, key=sfn.JsonPath.string_at("$.plan.key")),
        item_selector={BACKFILL_ITEM_FIELD: {field: sfn.JsonPath.string_at(f"$$.Map.Item.Value.{field}")
                                             for field in BackfillItem.FIELDS}},
        max_concurrency=max_concurrency, tolerated_failure_percentage=100, label="ChainDays",
        result_writer_v2=sfn.ResultWriterV2(bucket=bucket, prefix=BACKFILL_RESULTS_PREFIX.rstrip("/")),
        result_path="$.map")
    chain_days.item_processor(validate_day)

    count = tasks.CallAwsService(
        scope, "CountItems", service="sfn", action="describeMapRun", iam_action="states:DescribeMapRun",
        iam_resources=["*"], parameters={"MapRunArn": sfn.JsonPath.string_at("$.map.MapRunArn")},
        result_selector={"succeeded": sfn.JsonPath.number_at("$.ItemCounts.Succeeded"),
                         "failed": sfn.JsonPath.number_at("$.ItemCounts.Failed"),
                         "total": sfn.JsonPath.number_at("$.ItemCounts.Total")},
        result_path="$.counts")
    every_item = (sfn.Choice(scope, "EveryItemValidated")
                  .when(sfn.Condition.number_equals_json_path("$.counts.succeeded", "$.plan.items"),
                        sfn.Succeed(scope, "Done"))
                  .otherwise(sfn.Fail(scope, "ItemsNotValidated", error="BackfillItemsNotValidated",
                                      cause="Not every chain x day was validated: the FAILED and PENDING "
                                            f"results under {BACKFILL_RESULTS_PREFIX} of the backfill bucket "
                                            "name each item and its error")))
    return plan.next(chain_days).next(count).next(every_item)
