"""``secure-trail backfill`` starts the backfill state machine (moto Step Functions) with
the contract's execution input."""

import json
from datetime import datetime, timezone

import boto3
import pytest
from moto import mock_aws

from trail_validators.cli import backfill, output
from trail_validators.cli.main import _parser, main
from trail_validators.contract import BackfillRequest

NOW = datetime(2026, 11, 20, 8, 30, tzinfo=timezone.utc)


@pytest.fixture
def state_machine(aws_env):
    with mock_aws():
        iam = boto3.client("iam")
        role = iam.create_role(RoleName="backfill", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = sfn.create_state_machine(name="org-trail-digest-backfill", roleArn=role, definition=json.dumps(
            {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}))["stateMachineArn"]
        yield sfn, arn


def run(argv, now=NOW):
    parser = _parser()
    args = parser.parse_args(["backfill", *argv])
    output.resolve(args, parser)
    return backfill.run(args, now=now)


def test_backfill_starts_an_execution_with_the_contract_input(state_machine, capsys):
    sfn, arn = state_machine
    assert run(["--state-machine-arn", arn, "--since", "2026-01-01", "--until", "2026-01-31"]) == 0
    (execution,) = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert capsys.readouterr().out.splitlines()[0] == execution["executionArn"]
    assert execution["name"] == "backfill-20260101-20260131-20261120T083000Z"
    given = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    assert BackfillRequest.parse(given) == BackfillRequest("2026-01-01", "2026-01-31")


def test_until_defaults_to_today_and_json_names_the_execution(state_machine, capsys):
    _, arn = state_machine
    assert run(["--state-machine-arn", arn, "--since", "2026-11-01", "--name", "year-one", "--output", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["input"] == {"since": "2026-11-01", "until": "2026-11-20"} and out["days"] == 20
    assert out["name"] == "year-one" and out["execution_arn"].endswith(":year-one")


@pytest.mark.parametrize("argv", [
    ["--since", "2999-01-01", "--until", "2999-01-02"],  # after today
    ["--since", "2026-11-10", "--until", "2026-11-01"],
    ["--since", "2026/11/01"],
    ["--since", "2026-11-01", "--name", "no spaces"],
])
def test_a_bad_range_or_name_is_a_usage_error_and_starts_nothing(state_machine, argv, capsys):
    sfn, arn = state_machine
    assert main(["backfill", "--state-machine-arn", arn, *argv]) == 2
    assert "error" in capsys.readouterr().err
    assert main(["backfill", "--state-machine-arn", arn, *argv, "--output", "json"]) == 2
    assert json.loads(capsys.readouterr().err)["error"]["kind"] in ("input", "usage")
    assert sfn.list_executions(stateMachineArn=arn)["executions"] == []


def test_a_state_machine_arn_is_required_and_checked(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["backfill", "--state-machine-arn", "arn:aws:lambda:us-east-1:111111111111:function:x",
              "--since", "2026-01-01"])
    assert exit_.value.code == 2 and "not a state machine ARN" in capsys.readouterr().err
