"""The validators' state key: a customer-managed KMS key, separate from the trail key,
for the checkpoint table, the work queues, their dead-letter queues and the validator
functions' environments.

Whoever could forge a checkpoint could move a chain's validation past a deletion, so the
state is guarded like the logs: the key policy gives the account (key administrators
through IAM) only key management, never encrypt, decrypt or grants; each validator role
only the cryptographic actions it needs, only through the service that needs them
(``kms:ViaService``); the deployer only what DynamoDB and Lambda need to set the key up;
EventBridge only as the auditor's rule. Each role's managed policy narrows it further
to the exact queue, table and function (encryption context).

Roles are named by ``aws:PrincipalArn`` on the account principal, not as principals: KMS
rejects a policy naming a role IAM has not yet propagated (the roles are created in the
same deployment), and a role principal turns into a dead unique id if the role is ever
replaced. Either way only that role's sessions match.
"""

from __future__ import annotations

from typing import Protocol, Sequence

from aws_cdk import DefaultStackSynthesizer, Fn, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..names import TrailIdentity

# Key management, without Encrypt/Decrypt/GenerateDataKey/ReEncrypt and without CreateGrant
# (a grant is a way to give oneself Decrypt).
KEY_ADMINISTRATION = sorted((
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey",
    "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListGrants", "kms:ListKeyPolicies",
    "kms:ListKeyRotations", "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:RevokeGrant",
    "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource",
    "kms:UpdateAlias", "kms:UpdateKeyDescription"))


def deny_grants_not_for_aws_resources() -> iam.PolicyStatement:
    """Nobody, whatever IAM allows, creates a grant on the key unless an AWS service creates it
    for an AWS resource (Control Tower CT.KMS.PR.3): a grant is a way to give oneself Decrypt.
    Services that use the key through grants (DynamoDB, Lambda, OpenSearch Serverless) create
    them for their resources, so this denies them nothing."""
    return iam.PolicyStatement(
        sid="DenyGrantsNotForAwsResources", effect=iam.Effect.DENY, principals=[iam.AnyPrincipal()],
        actions=["kms:CreateGrant"], resources=["*"],
        conditions={"BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}})


def account_administration_statements() -> list[iam.PolicyStatement]:
    """The account (key administrators through IAM) manages the key, never uses it."""
    return [iam.PolicyStatement(sid="AccountAdministersKeyOnly", principals=[iam.AccountRootPrincipal()],
                                actions=KEY_ADMINISTRATION, resources=["*"]),
            deny_grants_not_for_aws_resources()]


# What DynamoDB needs of the principal that creates a table with a customer managed key.
TABLE_CREATION = ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*",
                  "kms:ReEncrypt*"]
# What Lambda needs of the principal that sets a customer managed key on a function.
FUNCTION_CONFIGURATION = ["kms:CreateGrant", "kms:Decrypt", "kms:Encrypt"]
SEND = ["kms:Decrypt", "kms:GenerateDataKey"]
RECEIVE = ["kms:Decrypt"]


class Grantee(Protocol):
    """A validator function: its service name (``trail_validators.contract``), its role
    (named in the key policy), the managed policy that holds all of its permissions (the
    role takes no other) and its ARN built from names."""

    service: str
    role: iam.IRole
    policy: iam.ManagedPolicy
    named_function_arn: str


class ValidatorStateKey(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, identity: TrailIdentity) -> None:
        super().__init__(scope, construct_id)
        self._identity = identity
        self._by_role_and_service: dict[tuple[str, str], iam.PolicyStatement] = {}
        self.key = kms.Key(
            self, "Key",
            description=f"Encrypts the validator state of {identity.trail_name}: checkpoints, work queues, "
                        "dead-letter queues, function environments",
            enable_key_rotation=True, alias=identity.validator_state_key_alias, removal_policy=RemovalPolicy.RETAIN,
            # A policy of our own: CDK's default gives the account kms:* (any IAM principal
            # allowed by IAM could decrypt, or forge a checkpoint through DynamoDB).
            policy=iam.PolicyDocument(statements=account_administration_statements()))
        deployer = _deployer(Stack.of(self))
        for sid, service, actions in (("DeployerCreatesTheTable", "dynamodb", TABLE_CREATION),
                                      ("DeployerEncryptsFunctionEnvironments", "lambda", FUNCTION_CONFIGURATION)):
            self._allow(sid, iam.AccountRootPrincipal(), actions,
                        {**deployer, "StringEquals": {"kms:ViaService": self._via(service)}})
        # DynamoDB checks the key's state for the tables it protects (in AWS's documented
        # key policy for DynamoDB with a customer managed key): key metadata, no use of it.
        self.key.add_to_resource_policy(iam.PolicyStatement(
            sid="DynamoDBDescribesKey", principals=[iam.ServicePrincipal("dynamodb.amazonaws.com")],
            actions=["kms:DescribeKey"], resources=["*"]))

    # -- grants to validator functions: key policy (role + service) and the role's managed
    # -- policy (the exact resource, by encryption context)
    def grant_send(self, grantee: Grantee, queue: sqs.IQueue) -> None:
        """SendMessage to an encrypted queue (the work queue, or a DLQ)."""
        self._grant(grantee, "sqs", SEND, {"kms:EncryptionContext:aws:sqs:arn": queue.queue_arn})

    def grant_receive(self, grantee: Grantee, queue: sqs.IQueue) -> None:
        self._grant(grantee, "sqs", RECEIVE, {"kms:EncryptionContext:aws:sqs:arn": queue.queue_arn})

    def grant_table(self, grantee: Grantee, table: dynamodb.ITable) -> None:
        """Read and write items (DynamoDB decrypts the table key as the caller)."""
        self._grant(grantee, "dynamodb", RECEIVE, {"kms:EncryptionContext:aws:dynamodb:tableName": table.table_name,
                                                   "kms:EncryptionContext:aws:dynamodb:subscriberId":
                                                       self._identity.account})

    def grant_environment(self, grantee: Grantee) -> None:
        """Decrypt the function's own environment, nothing else Lambda encrypts."""
        context = {"kms:EncryptionContext:aws:lambda:FunctionArn": grantee.named_function_arn}
        self._grant(grantee, "lambda", RECEIVE, context, key_policy_context=context)

    def grant_bucket(self, grantee: Grantee, bucket_arn: str, actions: list[str]) -> None:
        """Objects of a bucket encrypted with this key (S3 Bucket Key: the bucket's context)."""
        self._grant(grantee, "s3", actions, {"kms:EncryptionContext:aws:s3:arn": bucket_arn})

    def allow_log_group(self, log_group_arn: str, sid: str) -> None:
        """CloudWatch Logs encrypts this log group only (``sid``: one per group)."""
        self._allow(sid, iam.ServicePrincipal(f"logs.{self._identity.home_region}.amazonaws.com"),
                    ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                    {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}})

    def allow_event_rule(self, rule_arn: str | Sequence[str], sid: str = "EventBridgeSendsAsTheAuditorRule") -> None:
        """EventBridge delivers to an encrypted queue, as this rule (or these rules) only
        (``sid``: one per statement)."""
        self._allow(sid, iam.ServicePrincipal("events.amazonaws.com"), SEND, {
            "ArnEquals": {"aws:SourceArn": rule_arn},
            "StringEquals": {"aws:SourceAccount": self._identity.account}})

    def _grant(self, grantee: Grantee, service: str, actions: list[str], context: dict[str, str], *,
               key_policy_context: dict[str, str] | None = None) -> None:
        via = {"kms:ViaService": self._via(service)}
        grantee.policy.add_statements(iam.PolicyStatement(
            actions=actions, resources=[self.key.key_arn], conditions={"StringEquals": {**via, **context}}))
        statement_key = (grantee.role.node.path, service)
        statement = self._by_role_and_service.get(statement_key)
        if statement is None:
            statement = iam.PolicyStatement(
                sid=f"{_pascal(grantee.service)}Via{service.capitalize()}", principals=[iam.AccountRootPrincipal()],
                actions=list(actions), resources=["*"],
                conditions={"ArnEquals": {"aws:PrincipalArn": grantee.role.role_arn},
                            "StringEquals": {**via, **(key_policy_context or {})}})
            self.key.add_to_resource_policy(statement)
            self._by_role_and_service[statement_key] = statement
        else:
            statement.add_actions(*(a for a in actions if a not in statement.actions))

    def _allow(self, sid: str, principal: iam.IPrincipal, actions: list[str], conditions: dict) -> None:
        self.key.add_to_resource_policy(iam.PolicyStatement(
            sid=sid, principals=[principal], actions=actions, resources=["*"], conditions=conditions))

    def _via(self, service: str) -> str:
        return f"{service}.{self._identity.home_region}.amazonaws.com"


def _deployer(stack: Stack) -> dict:
    """The condition naming the principal CloudFormation creates the table and functions
    as: the bootstrap's execution role under CDK's default synthesizer; under another,
    whoever deploys (none: the account's IAM decides, still only through the service)."""
    synthesizer = stack.synthesizer
    if isinstance(synthesizer, DefaultStackSynthesizer):
        return {"ArnEquals": {"aws:PrincipalArn": Fn.sub(synthesizer.cloud_formation_execution_role_arn)}}
    return {}


def _pascal(name: str) -> str:
    """``digest-planner`` -> ``DigestPlanner`` (a statement id is alphanumeric)."""
    return "".join(part.capitalize() for part in name.split("-"))
