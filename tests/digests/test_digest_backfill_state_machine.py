"""The digest backfill: its state machine's definition, read offline from the synthesized
template, and its item contract, run against the planner and the worker on moto S3 with
signed fixtures (an item the planner writes, passed through the definition's ItemSelector,
is one the worker validates)."""

import json
from datetime import date, timedelta

import pytest
from aws_cdk.assertions import Template

from conftest import build_stack, default_props, resolve_arn_join
from sqs_harness import LambdaContext, digest_validation_on_moto, published
from trail_simulation import T0, SimulatedTrail
from trail_validators.contract import (BACKFILL_FIELD, BACKFILL_ITEM_FIELD, DEFAULT_BACKFILL_CONCURRENCY,
                                      BackfillError, BackfillItem, BackfillRequest, Env)
from trail_validators.digests.backfill import backfill_items, day_window
from trail_validators.digests.layout import ChainId, TrailLocation

BUCKET, WORK_BUCKET = "org-trail-bucket", "backfill-bucket"
LOCATION = TrailLocation(BUCKET, None, "o-a1b2c3d4e5", "org-trail", "us-east-1")
CHAINS = [ChainId("111111111111", "us-east-1"), ChainId("222222222222", "eu-west-1")]
DAY = T0.date().isoformat()


# -- the definition, offline --------------------------------------------------------------
def state_machine(template: dict) -> tuple[str, dict, dict]:
    ((logical_id, resource),) = [(k, r) for k, r in template["Resources"].items()
                                 if r["Type"] == "AWS::StepFunctions::StateMachine"]
    return logical_id, resource["Properties"], json.loads(resolve_arn_join(resource["Properties"]["DefinitionString"]))


def logical_id(template: dict, resource_type: str, contains: str) -> str:
    (found,) = [k for k, r in template["Resources"].items() if r["Type"] == resource_type and contains in k]
    return found


@pytest.fixture(scope="module")
def default_definition(template):
    return template.to_json(), *state_machine(template.to_json())[1:]


def test_the_default_synth_has_a_distributed_map_over_the_worker(default_definition):
    template, _, definition = default_definition
    worker = logical_id(template, "AWS::Lambda::Function", "DigestValidatorWorker")
    planner = logical_id(template, "AWS::Lambda::Function", "DigestValidatorPlanner")
    states = definition["States"]
    assert definition["StartAt"] == "Plan"
    assert states["Plan"]["Resource"] == f"<{planner}.Arn>" and states["Plan"]["Next"] == "ValidateChainDays"
    chain_days = states["ValidateChainDays"]
    assert chain_days["Type"] == "Map"
    assert chain_days["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert chain_days["MaxConcurrency"] == DEFAULT_BACKFILL_CONCURRENCY
    (task,) = chain_days["ItemProcessor"]["States"].values()
    assert task["Type"] == "Task" and task["Resource"] == f"<{worker}.Arn>" and task["End"] is True


def test_items_are_read_from_the_plan_and_shaped_by_the_contract(default_definition):
    template, _, definition = default_definition
    bucket = logical_id(template, "AWS::S3::Bucket", "BackfillBucket")
    plan, chain_days = definition["States"]["Plan"], definition["States"]["ValidateChainDays"]
    assert plan["Parameters"] == {BACKFILL_FIELD: {**{f"{f}.$": f"$.{f}" for f in BackfillRequest.FIELDS},
                                                   "execution.$": "$$.Execution.Name"}}
    assert plan["ResultPath"] == "$.plan"
    assert chain_days["ItemReader"]["ReaderConfig"] == {"InputType": "JSONL"}
    assert chain_days["ItemReader"]["Parameters"] == {"Bucket": f"<{bucket}>", "Key.$": "$.plan.key"}
    assert chain_days["ItemSelector"] == {BACKFILL_ITEM_FIELD: {
        f"{f}.$": f"$$.Map.Item.Value.{f}" for f in BackfillItem.FIELDS}}


def test_failures_are_collected_and_fail_the_execution(default_definition):
    template, _, definition = default_definition
    bucket = logical_id(template, "AWS::S3::Bucket", "BackfillBucket")
    states = definition["States"]
    chain_days = states["ValidateChainDays"]
    # Every item runs whatever others do, and every outcome is written down.
    assert chain_days["ToleratedFailurePercentage"] == 100
    assert chain_days["ResultWriter"]["Parameters"] == {"Bucket": f"<{bucket}>", "Prefix": "results"}
    (task,) = chain_days["ItemProcessor"]["States"].values()
    retried = [r["ErrorEquals"] for r in task["Retry"]]
    assert ["BackfillError", "ConfigurationError"] in retried and "Lambda.TooManyRequestsException" in retried[1]
    assert retried[-1] == ["States.ALL"]
    assert "Catch" not in task  # a caught item would count as validated
    assert chain_days["Next"] == "CountItems"
    assert states["CountItems"]["Resource"].endswith(":states:::aws-sdk:sfn:describeMapRun")
    (choice,) = states["EveryItemValidated"]["Choices"]
    assert choice == {"Variable": "$.counts.succeeded", "NumericEqualsPath": "$.plan.items", "Next": "Done"}
    assert states[states["EveryItemValidated"]["Default"]]["Type"] == "Fail"


def test_the_state_machine_logs_everything_to_an_encrypted_group_and_traces(default_definition, template):
    _, properties, _ = default_definition
    assert properties["TracingConfiguration"] == {"Enabled": True}
    assert properties["LoggingConfiguration"]["Level"] == "ALL"
    (group,) = [g for k, g in template.find_resources("AWS::Logs::LogGroup").items() if "Backfill" in k]
    assert "KmsKeyId" in group["Properties"]
    assert group["Properties"]["LogGroupName"].startswith("/aws/vendedlogs/states/")


def test_the_role_invokes_only_the_planner_and_the_worker(template):
    resources = template.to_json()["Resources"]
    (policy,) = [r for k, r in resources.items() if r["Type"] == "AWS::IAM::ManagedPolicy" and "Backfill" in k]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (invoke,) = [s for s in statements if "lambda:InvokeFunction" in json.dumps(s["Action"])]
    assert sorted(resolve_arn_join(r) for r in invoke["Resource"]) == sorted(
        f"<{logical_id(template.to_json(), 'AWS::Lambda::Function', name)}.Arn>"
        for name in ("DigestValidatorPlanner", "DigestValidatorWorker"))
    assert not [s for s in statements if s["Action"] in ("*", "states:*", "s3:*", "lambda:*")]
    machines = [r for r in resources.values() if r["Type"] == "AWS::IAM::Policy"
                and "states" in json.dumps(r["Properties"]["PolicyDocument"])]
    assert machines == []  # no inline policy beside the managed one


def test_backfill_concurrency_reaches_the_map():
    definition = state_machine(Template.from_stack(build_stack(default_props(backfill_concurrency=3))).to_json())[2]
    assert definition["States"]["ValidateChainDays"]["MaxConcurrency"] == 3


# -- the item contract, against the planner and the worker --------------------------------
def test_requests_outside_the_contract_are_refused():
    for bad in ({"since": "2026-11-20"}, {"since": "2026-11-20", "until": "2026-11-19"},
                {"since": "2026-11-20", "until": "2026-11-21", "extra": 1}, {"since": "20261120", "until": "x"},
                {"since": "2000-01-01", "until": "2026-01-01"}, "2026-11-20"):
        with pytest.raises(BackfillError):
            BackfillRequest.parse(bad)
    with pytest.raises(BackfillError, match="after today"):
        BackfillRequest.parse({"since": "2026-11-20", "until": "2026-11-21"}, today=date(2026, 11, 20))


def test_every_chain_times_every_day_is_one_item():
    request = BackfillRequest.parse({"since": "2026-11-19", "until": "2026-11-21"})
    items = list(backfill_items(reversed(CHAINS), request))
    assert len(items) == 6 and len(set(items)) == 6
    assert items[0] == BackfillItem("111111111111", "us-east-1", "2026-11-19")


def test_a_day_window_is_one_utc_day_and_never_the_future():
    item = BackfillItem("111111111111", "us-east-1", DAY)
    window = day_window(item, T0 + timedelta(days=3))
    assert (window.start, window.end) == (T0, T0 + timedelta(days=1))
    assert day_window(item, T0 + timedelta(hours=5)).end == T0 + timedelta(hours=5)
    with pytest.raises(BackfillError):
        day_window(BackfillItem("111111111111", "us-east-1", "2026-11-21"), T0)


@pytest.fixture
def env(aws_env, monkeypatch, default_definition):
    sim = SimulatedTrail(LOCATION)
    for chain in CHAINS:  # the whole day T0 and a few hours after it
        sim.deliver(chain, T0 - timedelta(hours=2), 30)
    with digest_validation_on_moto(monkeypatch, sim, now=T0 + timedelta(days=2),
                                   environment={Env.BACKFILL_BUCKET: WORK_BUCKET}) as env:
        env["s3"].create_bucket(Bucket=WORK_BUCKET)
        yield {**env, "definition": default_definition[2]}


def plan(env, since=DAY, until=DAY, execution="run-1") -> list[dict]:
    """The Plan state: the planner as the definition's Parameters call it; then its items."""
    out = env["module"].plan_backfill({"since": since, "until": until, "execution": execution},
                                      env["module"].planner_config_from_env(), env["s3"], T0.date() + timedelta(2))
    body = env["s3"].get_object(Bucket=out["bucket"], Key=out["key"])["Body"].read().decode()
    items = [json.loads(line) for line in body.splitlines()]
    assert out["items"] == len(items)
    return items


def selected(definition: dict, item: dict) -> dict:
    """The ItemSelector applied to one item, as Step Functions applies it."""
    selector = definition["States"]["ValidateChainDays"]["ItemSelector"]
    return {outer: {name[:-2]: item[path.rsplit(".", 1)[1]] for name, path in fields.items()}
            for outer, fields in selector.items()}


def test_the_planner_writes_every_chain_day_as_json_lines(env):
    items = plan(env, since=DAY, until=(T0 + timedelta(days=1)).date().isoformat())
    assert sorted((i["account"], i["region"], i["day"]) for i in items) == sorted(
        (c.account, c.region, d) for c in CHAINS for d in (DAY, (T0 + timedelta(days=1)).date().isoformat()))
    assert all(set(i) == set(BackfillItem.FIELDS) for i in items)


def test_a_backfill_that_would_examine_nothing_fails(env):
    env["s3"].delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in env["sim"].objects]})
    with pytest.raises(BackfillError, match="nothing to backfill"):
        plan(env)


def test_the_planner_refuses_a_day_after_today(env):
    with pytest.raises(BackfillError, match="after today"):
        plan(env, until=(T0 + timedelta(days=5)).date().isoformat())


def test_each_planned_item_is_validated_by_the_worker_handler(env):
    results = [env["module"].worker(selected(env["definition"], item), LambdaContext()) for item in plan(env)]
    assert sorted((r["account"], r["region"]) for r in results) == sorted((c.account, c.region) for c in CHAINS)
    assert all(r["day"] == DAY and r["digests_valid"] >= 24 and r["logs_valid"] >= 48 and not r["failed"]
               for r in results)
    # The checkpoint is the hourly runs' alone.
    assert env["checkpoints"].load(CHAINS[0]) is None


def test_a_deleted_log_in_a_backfilled_day_alerts_once(env):
    deleted = sorted(k for k in env["sim"].objects if "/CloudTrail/us-east-1/2026/11/20/" in k)[5]
    env["s3"].delete_object(Bucket=BUCKET, Key=deleted)
    (item,) = [i for i in plan(env) if i["account"] == CHAINS[0].account]
    for _ in range(2):  # a retried item alerts nobody twice
        result = env["module"].worker(selected(env["definition"], item), LambdaContext())
        assert result["failed"]
    kinds = [a["kind"] for a in published(env["sqs"], env["inbox"])]
    assert kinds.count("missing_log") == 1


def test_an_item_outside_the_contract_fails_the_invocation(env):
    for bad in ({"account": "1", "region": "us-east-1", "day": DAY},
                {"account": "111111111111", "region": "../x", "day": DAY},
                {"account": "111111111111", "region": "us-east-1"}):
        with pytest.raises(BackfillError):
            env["module"].worker({BACKFILL_ITEM_FIELD: bad}, LambdaContext())
