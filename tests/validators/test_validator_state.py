"""Validator state at rest: the checkpoint table, the work queues, their dead-letter queues
and the functions' environments under a key of their own, which admits only the
validators, the deployer and EventBridge as the auditor's rule; only the digest worker
may read or write checkpoints."""

import graphlib

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from conftest import (DENY_GRANTS_NOT_FOR_AWS_RESOURCES, DEPLOY_ACCOUNT, REGION, build_stack, default_props,
                      policy_statements, statement)
from template_tokens import as_list, string_like
from trail_validators.contract import alert_marker, audited_marker, checkpoint_key

STATE_KEY = "SecureTrailValidatorStateKey"
CRYPTO = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt", "kms:GenerateDataKey", "kms:CreateGrant", "kms:*")
DEPLOYER = {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::{DEPLOY_ACCOUNT}:role/"
                       f"cdk-hnb659fds-cfn-exec-role-{DEPLOY_ACCOUNT}-{REGION}"}
ROLES = {"planner": "DigestValidatorPlannerRole", "worker": "DigestValidatorWorkerRole",
         "auditor": "AccessLogAuditorRole", "posture": "PostureWatcherRole", "watch": "TrailWatchRole",
         "failed": "FailedCallsSummarizerRole"}


from shape_fixtures import single_or_log_archive_full_template, single_or_log_archive_template  # noqa: F401


@pytest.fixture(scope="module")
def resources(template) -> dict:
    return template.to_json()["Resources"]


@pytest.fixture(scope="module")
def state_key_id(resources) -> str:
    (logical_id,) = [k for k, r in resources.items() if r["Type"] == "AWS::KMS::Key" and k.startswith(STATE_KEY)]
    return logical_id


@pytest.fixture(scope="module")
def key_statements(template) -> list[dict]:
    """What the state key allows (its one deny: test_state_key_denies_grants_not_for_aws_resources)."""
    return [s for s in policy_statements(template, "AWS::KMS::Key", "KeyPolicy", STATE_KEY) if s["Effect"] == "Allow"]


def test_state_key_denies_grants_not_for_aws_resources(template):
    statements = policy_statements(template, "AWS::KMS::Key", "KeyPolicy", STATE_KEY)
    assert [s for s in statements if s["Effect"] != "Allow"] == [DENY_GRANTS_NOT_FOR_AWS_RESOURCES]


def role_id(resources, which: str) -> str:
    (logical_id,) = [k for k, r in resources.items() if r["Type"] == "AWS::IAM::Role" and ROLES[which] in k]
    return logical_id


def managed_statements(resources, which: str) -> list[dict]:
    role = role_id(resources, which)
    return [s for r in resources.values() if r["Type"] == "AWS::IAM::ManagedPolicy"
            and {"Ref": role} in r["Properties"]["Roles"] for s in r["Properties"]["PolicyDocument"]["Statement"]]


def is_crypto(s: dict) -> bool:
    return any(a.startswith(CRYPTO) for a in as_list(s["Action"]))


def principal_arn(s: dict):
    """The one IAM principal a key-policy statement admits (on the account principal)."""
    return s.get("Condition", {}).get("ArnEquals", {}).get("aws:PrincipalArn")


def used_by(key_statements, resources, which: str) -> list[dict]:
    return [s for s in key_statements if principal_arn(s) == f"<{role_id(resources, which)}.Arn>"]


def test_state_key_is_a_key_of_its_own_rotated_aliased_and_retained(resources, state_key_id):
    keys = [k for k, r in resources.items() if r["Type"] == "AWS::KMS::Key"]
    assert len(keys) == 2 and state_key_id in keys  # the trail key, and this one
    key = resources[state_key_id]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert (key["DeletionPolicy"], key["UpdateReplacePolicy"]) == ("Retain", "Retain")
    (alias,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::KMS::Alias"
                and r["Properties"]["TargetKeyId"] == {"Fn::GetAtt": [state_key_id, "Arn"]}]
    assert alias["AliasName"] == "alias/org-trail-validator-state"


def test_table_queues_dead_letter_queues_and_environments_are_encrypted_with_the_state_key(
        resources, state_key_id):
    state_key = {"Fn::GetAtt": [state_key_id, "Arn"]}
    (table,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::DynamoDB::Table"]
    assert table["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": state_key}
    queues = {k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
    # four work queues (one the posture watcher's failed calls), five dead-letter queues (one the posture watcher's)
    assert len(queues) == 9
    for logical_id, queue in queues.items():
        assert queue.get("KmsMasterKeyId") == state_key and "SqsManagedSseEnabled" not in queue, logical_id
    functions = {k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    assert len(functions) == 6
    for logical_id, function in functions.items():
        assert function.get("KmsKeyArn") == state_key, logical_id


def test_state_key_admits_only_the_validators_the_deployer_and_event_bridge(resources, key_statements):
    roles = {f"<{role_id(resources, which)}.Arn>" for which in ROLES}
    accounts = {p for s in key_statements for p in as_list(s["Principal"].get("AWS", []))}
    services = {p for s in key_statements for p in as_list(s["Principal"].get("Service", []))}
    assert accounts == {f"arn:aws:iam::{DEPLOY_ACCOUNT}:root"}
    # CloudWatch Logs: the backfill state machine's log group only
    assert services == {"events.amazonaws.com", "dynamodb.amazonaws.com", f"logs.{REGION}.amazonaws.com"}
    logs = statement(key_statements, "CloudWatchLogsEncryptBackfillLogs")
    assert logs["Condition"] == {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": (
        f"arn:aws:logs:{REGION}:{DEPLOY_ACCOUNT}:log-group:/aws/vendedlogs/states/org-trail-digest-backfill")}}
    # Every use of the key by an IAM principal names it: a validator role or the deployer.
    named = [s for s in key_statements if "AWS" in s["Principal"] and is_crypto(s)]
    backfill = f"<{next(k for k, r in resources.items() if r['Type'] == 'AWS::IAM::Role' and 'BackfillRole' in k)}.Arn>"
    assert {str(principal_arn(s)) for s in named} == roles | {str(DEPLOYER), backfill}
    # the backfill state machine: only the objects of its own bucket, through S3
    (bucket_use,) = [s for s in named if principal_arn(s) == backfill]
    assert bucket_use["Condition"]["StringEquals"]["kms:ViaService"] == f"s3.{REGION}.amazonaws.com"
    # The account (its key administrators, through IAM) manages the key and cannot use it.
    account = statement(key_statements, "AccountAdministersKeyOnly")
    assert not is_crypto(account) and "kms:PutKeyPolicy" in account["Action"]
    assert statement(key_statements, "DynamoDBDescribesKey")["Action"] == "kms:DescribeKey"


def test_every_use_of_the_state_key_is_scoped_to_a_service_or_the_rule(resources, key_statements):
    via = {"planner": {"sqs", "lambda", "s3"}, "worker": {"sqs", "lambda", "dynamodb"},
           "auditor": {"sqs", "lambda", "dynamodb"}, "posture": {"sqs", "lambda", "dynamodb"},
           "watch": {"sqs", "lambda", "dynamodb"}, "failed": {"sqs", "lambda", "dynamodb"}}
    for which, services in via.items():
        mine = used_by(key_statements, resources, which)
        assert {s["Condition"]["StringEquals"]["kms:ViaService"].split(".")[0] for s in mine} == services, which
        for s in mine:
            assert set(as_list(s["Action"])) <= {"kms:Decrypt", "kms:GenerateDataKey"}, s
            assert s["Condition"]["StringEquals"]["kms:ViaService"].endswith(f".{REGION}.amazonaws.com")
    for s in key_statements:
        if is_crypto(s) and "logs." in str(s["Principal"]):  # one log group, by its encryption context
            assert list(s["Condition"]) == ["ArnEquals"], s
        elif is_crypto(s) and "events.amazonaws.com" not in str(s["Principal"]):
            assert "kms:ViaService" in s["Condition"]["StringEquals"], s
    for sid, service in (("DeployerCreatesTheTable", "dynamodb"), ("DeployerEncryptsFunctionEnvironments", "lambda")):
        deployer = statement(key_statements, sid)
        assert deployer["Condition"] == {"ArnEquals": {"aws:PrincipalArn": DEPLOYER},
                                         "StringEquals": {"kms:ViaService": f"{service}.{REGION}.amazonaws.com"}}


def test_each_function_decrypts_only_its_own_environment(resources, key_statements):
    for which in ROLES:
        (lambda_use,) = [s for s in used_by(key_statements, resources, which)
                         if "lambda." in s["Condition"]["StringEquals"]["kms:ViaService"]]
        context = lambda_use["Condition"]["StringEquals"]["kms:EncryptionContext:aws:lambda:FunctionArn"]
        name = {"planner": "digest-planner", "worker": "digest-validator", "auditor": "access-log-auditor",
                "posture": "posture-watcher", "watch": "trail-watch", "failed": "posture-failed-calls"}[which]
        assert context == f"arn:aws:lambda:{REGION}:{DEPLOY_ACCOUNT}:function:org-trail-{name}"
        functions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Function"
                     and r["Properties"]["FunctionName"] == f"org-trail-{name}"]
        assert len(functions) == 1


@pytest.mark.parametrize("sid,part", [("EventBridgeSendsAsTheAuditorRule", "AccessLogAuditor"),
                                      ("EventBridgeSendsAsTheTrailWatchRule", "TrailWatch")])
def test_event_bridge_uses_the_state_key_only_as_the_queue_rules(resources, key_statements, sid, part):
    s = statement(key_statements, sid)
    (rule,) = [r["Properties"] for k, r in resources.items()
               if r["Type"] == "AWS::Events::Rule" and "EventPattern" in r["Properties"] and "Name" in r["Properties"]
               and part in k]
    assert s["Principal"] == {"Service": "events.amazonaws.com"}
    assert sorted(as_list(s["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert s["Condition"] == {
        "ArnEquals": {"aws:SourceArn": f"arn:aws:events:{REGION}:{DEPLOY_ACCOUNT}:rule/{rule['Name']}"},
        "StringEquals": {"aws:SourceAccount": DEPLOY_ACCOUNT}}


def test_roles_use_the_state_key_only_for_their_own_queues_table_and_environment(resources, state_key_id):
    table = next(k for k, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table")
    queues = {"planner": "DigestValidatorWork", "worker": "DigestValidatorWork", "auditor": "AccessLogAuditorWork",
              "posture": "PostureWatcherDeadLetters", "watch": "TrailWatchWork",
              "failed": "PostureWatcherFailedCallsWork"}
    for which in ROLES:
        uses = [s for s in managed_statements(resources, which)
                if s["Resource"] == {"Fn::GetAtt": [state_key_id, "Arn"]}]
        assert uses, which
        for s in uses:
            context = s["Condition"]["StringEquals"]
            service = context["kms:ViaService"].split(".")[0]
            if service == "sqs":
                assert queues[which] in context["kms:EncryptionContext:aws:sqs:arn"]["Fn::GetAtt"][0]
            elif service == "s3":  # the planner writes the backfill's item lists
                assert which == "planner"
                assert "DigestValidatorBackfillBucket" in str(context["kms:EncryptionContext:aws:s3:arn"])
            elif service == "dynamodb":
                assert which != "planner"
                assert context["kms:EncryptionContext:aws:dynamodb:tableName"] == {"Ref": table}
                assert context["kms:EncryptionContext:aws:dynamodb:subscriberId"] == DEPLOY_ACCOUNT
            else:
                assert service == "lambda" and "kms:EncryptionContext:aws:lambda:FunctionArn" in context


WRITES = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
          "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete", "dynamodb:*")


def table_access(resources, which: str) -> list[dict]:
    """Every statement of the role's managed policies that names a DynamoDB action."""
    return [s for s in managed_statements(resources, which)
            if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))]


def may_write(resources, which: str, key: str) -> bool:
    for s in table_access(resources, which):
        if any(a in WRITES for a in as_list(s["Action"])):
            patterns = s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
            if any(string_like(p, key) for p in patterns):
                return True
    return False


def test_only_the_digest_worker_can_write_checkpoints(resources):
    checkpoint = checkpoint_key("111111111111", REGION)
    assert [which for which in ROLES if may_write(resources, which, checkpoint)] == ["worker"]
    assert table_access(resources, "planner") == []
    # The auditor writes its own markers and nothing else.
    source = "s3://access-log-bucket/trail-bucket/2026-11-20-00-00-00-A"
    assert may_write(resources, "auditor", alert_marker(source, "etag", "non_tls_success"))
    assert may_write(resources, "auditor", audited_marker(source, "etag"))
    assert not may_write(resources, "auditor", alert_marker("111111111111/eu-west-1", "missing_log", "x"))


def test_no_role_reaches_the_table_without_a_leading_keys_condition(resources):
    for which in ROLES:
        for s in table_access(resources, which):
            assert "dynamodb:*" not in as_list(s["Action"]), s
            assert s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"], s
    assert not [r for r in resources.values() if r["Type"] in ("AWS::IAM::Policy",)]  # no inline policies


def test_the_key_policies_create_no_dependency_cycle(full_template):
    resources = full_template.to_json()["Resources"]

    def refs(node, found):
        if isinstance(node, dict):
            if isinstance(node.get("Ref"), str):
                found.add(node["Ref"])
            if "Fn::GetAtt" in node:
                found.add(node["Fn::GetAtt"][0])
            for value in node.values():
                refs(value, found)
        elif isinstance(node, list):
            for value in node:
                refs(value, found)
        return found

    graph = {k: {d for d in refs(r.get("Properties", {}), set()) | set(as_list(r.get("DependsOn", [])))
                 if d in resources} for k, r in resources.items()}
    list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError


def test_without_a_bootstrap_execution_role_the_deployer_is_the_account_through_the_service_only():
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    stack = cdk.Stack(app, "S", synthesizer=cdk.CliCredentialsStackSynthesizer(),
                      env=cdk.Environment(account=DEPLOY_ACCOUNT, region=REGION))
    from secure_trail import SecureTrail
    SecureTrail(stack, "Trail", default_props())
    statements = policy_statements(Template.from_stack(stack), "AWS::KMS::Key", "KeyPolicy", "TrailValidatorState")
    deployer = statement(statements, "DeployerCreatesTheTable")
    assert deployer["Principal"] == {"AWS": f"arn:aws:iam::{DEPLOY_ACCOUNT}:root"}
    assert deployer["Condition"] == {"StringEquals": {"kms:ViaService": f"dynamodb.{REGION}.amazonaws.com"}}


def test_no_state_key_without_validators():
    template = Template.from_stack(build_stack(default_props(validate_digests=False, audit_access_logs=False,
                                                             watch_posture=False)))
    assert list(template.find_resources("AWS::KMS::Key")) == [
        k for k in template.find_resources("AWS::KMS::Key") if k.startswith("SecureTrailKey")]
    template.resource_count_is("AWS::KMS::Key", 1)
