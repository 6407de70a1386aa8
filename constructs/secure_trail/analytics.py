"""The optional analytics part: a subscription filter on the trail's CloudWatch
Logs group invokes the enrichment Lambda, which writes one document per CloudTrail event to
OpenSearch (your endpoint, or a provisioned Serverless collection), SigV4-signed.

Failed invocations (after Lambda's two retries) go to an SQS on-failure destination with an
alarm; an alarm also fires on the first rejected event. The part has a key of its own
(``alias/<trail>-analytics``): it encrypts the failure queue, the function's environment
and log group, the collection and (in the organization shape) the alarms topic. It is not
the trail key, so reading the index never means being able to decrypt the logs or the other
way round, and it exists in whichever account holds the log group."""

from __future__ import annotations

import hashlib
import json
import re

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_logs_destinations as logs_destinations
from aws_cdk import aws_opensearchserverless as aoss
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .compliance import acknowledge, acknowledge_control, acknowledge_each_pack
from .contract import ANALYTICS_ENRICHMENT, HEARTBEATS, AnalyticsEnv, AnalyticsMetrics, encode_flag
from .names import TrailIdentity
from .props.analytics import AnalyticsProps
from .validators.code import ARCHITECTURE, RUNTIME, validator_code
from .validators.queue import count_alarm, heartbeat_alarm
from .validators.state_key import (FUNCTION_CONFIGURATION, RECEIVE, SEND, _deployer,
                                   account_administration_statements)

HANDLER = "trail_validators.handlers.analytics_enrichment.handler"
AOSS_NAME = re.compile(r"[a-z][a-z0-9-]{2,31}")
# Data-plane permissions of the collection's data access policy.
WRITER_INDEX_PERMISSIONS = ["aoss:CreateIndex", "aoss:DescribeIndex", "aoss:WriteDocument", "aoss:UpdateIndex"]
READER_INDEX_PERMISSIONS = [*WRITER_INDEX_PERMISSIONS, "aoss:ReadDocument"]
READER_COLLECTION_PERMISSIONS = ["aoss:CreateCollectionItems", "aoss:DescribeCollectionItems",
                                 "aoss:UpdateCollectionItems"]


def collection_name(trail_name: str) -> str:
    """``<trail>-analytics`` when that is a valid Serverless name (3-32 of a-z, 0-9, '-',
    starting with a letter), else a shortened form with a hash."""
    base = re.sub(r"[^a-z0-9]+", "-", trail_name.lower()).strip("-")
    name = f"{base}-analytics"
    if AOSS_NAME.fullmatch(name):
        return name
    digest = hashlib.sha256(trail_name.encode()).hexdigest()[:8]
    return f"ct-{digest}-{base[:19]}".rstrip("-")


class TrailAnalytics(Construct):
    """Children: ``key``, ``function``, ``failure_queue``, ``failure_alarm``,
    ``rejection_alarm``, ``subscription``, ``collection`` (None with your own endpoint),
    ``endpoint`` (what the function writes to)."""

    def __init__(self, scope: Construct, construct_id: str, *, identity: TrailIdentity, props: AnalyticsProps,
                 log_group: logs.ILogGroup, alerts_topic: sns.ITopic) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self._identity = identity
        function_name = identity.function_name(ANALYTICS_ENRICHMENT)
        function_log_group_name = identity.function_log_group_name(ANALYTICS_ENRICHMENT)
        self.key = kms.Key(
            self, "Key", description=f"Encrypts the CloudTrail analytics of {identity.trail_name}: failure queue, "
                                     "function environment and logs, OpenSearch Serverless collection",
            enable_key_rotation=True, alias=identity.analytics_key_alias,
            removal_policy=RemovalPolicy.RETAIN,
            policy=iam.PolicyDocument(statements=account_administration_statements()))
        deployer = _deployer(stack)
        self._allow("DeployerEncryptsFunctionEnvironment", iam.AccountRootPrincipal(), FUNCTION_CONFIGURATION,
                    {**deployer, "StringEquals": {"kms:ViaService": self._via("lambda")}})
        self._allow("CloudWatchLogsEncryptsFunctionLogs",
                    iam.ServicePrincipal(f"logs.{identity.home_region}.amazonaws.com"),
                    ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                    {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn":
                                   identity.log_group_arn(function_log_group_name)}})

        self.alerts_topic = alerts_topic

        self.failure_queue = sqs.Queue(self, "Failures", encryption=sqs.QueueEncryption.KMS,
                                       encryption_master_key=self.key, enforce_ssl=True,
                                       retention_period=Duration.days(14))
        last_stop = ("This queue is the enrichment function's on-failure destination (the failed payloads "
                     "themselves); an alarm fires on its first message.")
        acknowledge(self.failure_queue, "AwsSolutions-SQS3", last_stop)
        acknowledge_control(self.failure_queue, "CT.SQS.PR.1", last_stop)

        self.log_group = logs.LogGroup(self, "Logs", log_group_name=function_log_group_name,
                                       encryption_key=self.key, retention=logs.RetentionDays.ONE_YEAR,
                                       removal_policy=RemovalPolicy.RETAIN)
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                             description=f"{function_name}: enrich CloudTrail events into OpenSearch")
        self.collection: aoss.CfnCollection | None = None
        if props.collection:
            self.endpoint = self._collection(identity, props, function_name)
            sink_statement = iam.PolicyStatement(actions=["aoss:APIAccessAll"],
                                                 resources=[self.collection.attr_arn])
        else:
            self.endpoint = props.endpoint.rstrip("/")
            sink_statement = _endpoint_statement(props, identity)

        named_function_arn = identity.function_arn(ANALYTICS_ENRICHMENT)
        via_sqs = {"kms:ViaService": self._via("sqs")}
        via_lambda = {"kms:ViaService": self._via("lambda")}
        statements = [
            iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                                resources=[self.log_group.log_group_arn]),
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.failure_queue.queue_arn]),
            iam.PolicyStatement(actions=SEND, resources=[self.key.key_arn], conditions={"StringEquals": {
                **via_sqs, "kms:EncryptionContext:aws:sqs:arn": self.failure_queue.queue_arn}}),
            iam.PolicyStatement(actions=RECEIVE, resources=[self.key.key_arn], conditions={"StringEquals": {
                **via_lambda, "kms:EncryptionContext:aws:lambda:FunctionArn": named_function_arn}}),
            sink_statement]
        if props.account_names:
            statements.append(iam.PolicyStatement(actions=["organizations:ListAccounts"], resources=["*"]))
        self.policy = iam.ManagedPolicy(self, "Permissions", roles=[self.role], statements=statements)
        for sid, actions, conditions in (
                ("EnrichmentSendsFailures", SEND, via_sqs),
                ("EnrichmentReadsItsEnvironment", RECEIVE,
                 {**via_lambda, "kms:EncryptionContext:aws:lambda:FunctionArn": named_function_arn})):
            self._allow(sid, iam.AccountRootPrincipal(), actions, {
                "ArnEquals": {"aws:PrincipalArn": self.role.role_arn}, "StringEquals": conditions})
        if props.account_names:
            acknowledge(self.policy, "AwsSolutions-IAM5[Resource::*]",
                        "organizations:ListAccounts has no resource-level permissions; the role reads account "
                        "names only, to label documents.")

        self.function = lambda_.Function(
            self, "Function", function_name=function_name,
            description="Enriches the trail's CloudTrail events into OpenSearch",
            runtime=RUNTIME, architecture=ARCHITECTURE, handler=HANDLER, code=validator_code(),
            role=iam.Role.from_role_name(self, "FunctionRole", self.role.role_name, mutable=False),
            environment={AnalyticsEnv.ENDPOINT: self.endpoint, AnalyticsEnv.SERVICE: props.signing_service,
                         AnalyticsEnv.INDEX_PREFIX: props.index_prefix,
                         AnalyticsEnv.ACCOUNT_NAMES: encode_flag(props.account_names)},
            environment_encryption=self.key, timeout=Duration.minutes(5), memory_size=512,
            reserved_concurrent_executions=props.reserved_concurrency, log_group=self.log_group,
            retry_attempts=2, max_event_age=Duration.hours(6),
            on_failure=destinations.SqsDestination(self.failure_queue))
        self.function.node.add_dependency(self.policy)
        outside_vpc = ("The function calls AWS APIs and the OpenSearch endpoint over TLS with SigV4 and "
                       "accepts no inbound traffic; a VPC is needed only for a VPC-only sink, which is "
                       "the deployer's network decision (see docs/analytics.md).")
        acknowledge_each_pack(self.function, "LambdaInsideVPC", outside_vpc)
        acknowledge_control(self.function, "CT.LAMBDA.PR.3", outside_vpc)
        acknowledge_each_pack(self.function, "LambdaDLQ",
                              "Asynchronous failures go to an on-failure destination (the encrypted Failures "
                              "queue, with an alarm), which keeps the payload and the error; a DLQ would be a "
                              "second copy.")

        self.subscription = logs.SubscriptionFilter(
            self, "Subscription", log_group=log_group, destination=logs_destinations.LambdaDestination(self.function),
            filter_pattern=logs.FilterPattern.all_events(),
            filter_name=f"{identity.trail_name}-analytics")

        self.failure_alarm = cloudwatch.Alarm(
            self, "FailedDeliveries",
            alarm_description="CloudTrail events could not be indexed into OpenSearch; their payloads wait in "
                              "the analytics failure queue",
            metric=self.failure_queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"),
            threshold=1, evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
        self.failure_alarm.add_alarm_action(cloudwatch_actions.SnsAction(alerts_topic))
        self.rejection_alarm = count_alarm(
            self, "RejectedEvents", description="Log events of the trail's log group that are not CloudTrail "
                                                "records (or an unreadable payload): see the function's log",
            metric=AnalyticsMetrics.REJECTED, alerts_topic=alerts_topic)
        self.heartbeat_alarms = {ANALYTICS_ENRICHMENT: heartbeat_alarm(
            self, "Heartbeat", heartbeat=HEARTBEATS[ANALYTICS_ENRICHMENT], alerts_topic=alerts_topic)}

    def _collection(self, identity: TrailIdentity, props: AnalyticsProps, function_name: str) -> str:
        name = collection_name(identity.trail_name)
        resource = [f"collection/{name}"]
        encryption = aoss.CfnSecurityPolicy(
            self, "CollectionEncryption", name=name, type="encryption",
            description=f"{name}: encrypted with {identity.analytics_key_alias}",
            policy=Stack.of(self).to_json_string({"Rules": [{"ResourceType": "collection", "Resource": resource}],
                                                  "AWSOwnedKey": False, "KmsARN": self.key.key_arn}))
        network = aoss.CfnSecurityPolicy(
            self, "CollectionNetwork", name=name, type="network",
            description=f"{name}: reachable over HTTPS; every request still needs SigV4 and the data access policy",
            policy=json.dumps([{"Rules": [{"ResourceType": "collection", "Resource": resource},
                                          {"ResourceType": "dashboard", "Resource": resource}],
                                "AllowFromPublic": True}], separators=(",", ":")))
        writer = {"Rules": [{"ResourceType": "index", "Resource": [f"index/{name}/*"],
                             "Permission": WRITER_INDEX_PERMISSIONS}],
                  "Principal": [self.role.role_arn],
                  "Description": f"{function_name} writes documents"}
        rules = [writer]
        if props.collection_principals:
            rules.append({"Rules": [{"ResourceType": "index", "Resource": [f"index/{name}/*"],
                                     "Permission": READER_INDEX_PERMISSIONS},
                                    {"ResourceType": "collection", "Resource": resource,
                                     "Permission": READER_COLLECTION_PERMISSIONS}],
                          "Principal": list(props.collection_principals),
                          "Description": "analysts read, set up templates and dashboards"})
        access = aoss.CfnAccessPolicy(self, "CollectionAccess", name=name, type="data",
                                      description=f"{name}: only the enrichment role writes",
                                      policy=Stack.of(self).to_json_string(rules))
        # SEARCH: a TIMESERIES collection generates its own ids, so the eventID could not
        # make redelivery idempotent.
        self.collection = aoss.CfnCollection(
            self, "Collection", name=name, type="SEARCH",
            description=f"CloudTrail events of {identity.trail_name}, enriched",
            standby_replicas="ENABLED" if props.collection_standby_replicas else "DISABLED")
        for policy in (encryption, network, access):
            self.collection.node.add_dependency(policy)
        self._allow("DeployerCreatesTheCollection", iam.AccountRootPrincipal(), ["kms:CreateGrant", "kms:DescribeKey"],
                    {**_deployer(Stack.of(self)), "StringEquals": {"kms:ViaService": self._via("aoss")},
                     "Bool": {"kms:GrantIsForAWSResource": "true"}})
        return self.collection.attr_collection_endpoint

    def _allow(self, sid: str, principal: iam.IPrincipal, actions: list[str], conditions: dict) -> None:
        self.key.add_to_resource_policy(iam.PolicyStatement(
            sid=sid, principals=[principal], actions=list(actions), resources=["*"], conditions=conditions))

    def _via(self, service: str) -> str:
        return f"{service}.{self._identity.home_region}.amazonaws.com"


def _endpoint_statement(props: AnalyticsProps, identity: TrailIdentity) -> iam.PolicyStatement:
    """What the role may call on your endpoint: ``es:ESHttpPost`` on the domain's ``_bulk``
    path only, or ``aoss:APIAccessAll`` on the collection (its data access policy decides the
    rest)."""
    arn = props.endpoint_resource_arn
    if arn is None:
        match = props.endpoint_match()
        if props.service == "es":
            arn = f"arn:{identity.partition}:es:{match['region']}:{identity.account}:domain/{match['name']}"
        else:
            arn = f"arn:{identity.partition}:aoss:{match['region']}:{identity.account}:collection/{match['id']}"
    if props.service == "es":
        return iam.PolicyStatement(actions=["es:ESHttpPost"], resources=[f"{arn}/_bulk"])
    return iam.PolicyStatement(actions=["aoss:APIAccessAll"], resources=[arn])
