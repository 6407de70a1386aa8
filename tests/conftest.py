"""Shared, session-scoped synths: each stack is synthesized once for the whole run."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from secure_trail import (LogArchiveStack, ObjectLock, ObjectLockMode, SecureTrailProps, SecureTrailStack,
                          TrailStack, organization_stacks)
from trail_validators.digests.layout import ChainId, TrailLocation

REPO = Path(__file__).resolve().parent.parent
ORG_ID = "o-a1b2c3d4e5"
MANAGEMENT_ACCOUNT = "111111111111"
DEPLOY_ACCOUNT = "222222222222"
REGION = "eu-west-1"
TRAIL_NAME = "org-trail"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{MANAGEMENT_ACCOUNT}:trail/{TRAIL_NAME}"
READER_ARN = f"arn:aws:iam::{DEPLOY_ACCOUNT}:role/Auditor"
# The single stack's trail bucket: a derived name (secure_trail.names), so key policies can name it.
SINGLE_STACK_TRAIL_BUCKET = f"{TRAIL_NAME}-logs-{DEPLOY_ACCOUNT}-{REGION}"
CLOUDTRAIL_CONTEXT_KEY = "kms:EncryptionContext:aws:cloudtrail:arn"
# The statement every key of this package carries (Control Tower CT.KMS.PR.3): no grant that an
# AWS service does not create for an AWS resource, whatever IAM allows.
DENY_GRANTS_NOT_FOR_AWS_RESOURCES = {
    "Sid": "DenyGrantsNotForAwsResources", "Effect": "Deny", "Principal": {"AWS": "*"},
    "Action": "kms:CreateGrant", "Resource": "*",
    "Condition": {"BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}}}


def reader_decrypt_conditions(bucket_name: str, logs: str = "AWSLogs/", region: str = REGION) -> list[dict]:
    """The two forms a reader may decrypt under, one statement each: CloudTrail's context, or
    through S3 (the S3 Bucket Key form) for the trail bucket and its logs only."""
    arn = f"arn:aws:s3:::{bucket_name}"
    return [{"Null": {CLOUDTRAIL_CONTEXT_KEY: "false"}},
            {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
             "ArnLike": {"kms:EncryptionContext:aws:s3:arn": [arn, f"{arn}/{logs}*"]}}]


def cdk_json_context() -> dict:
    return json.loads((REPO / "cdk.json").read_text())["context"]


def synthesize_apps_into(out: Path, monkeypatch) -> None:
    """Every ``cdk.App`` made from now on is what `cdk synth` would give an app: an output
    folder, ``out`` (and no asset bundling here)."""

    class App(cdk.App):
        def __init__(self, **options):
            super().__init__(outdir=str(out), context={"aws:cdk:bundling-stacks": []}, **options)

    monkeypatch.setattr(cdk, "App", App)


def build_stack(props: SecureTrailProps, *, account: str | None = DEPLOY_ACCOUNT,
                feature_flags: bool = True) -> SecureTrailStack:
    # Unit synths skip asset bundling (pip into a folder); test_app.py bundles for real.
    context = {**(cdk_json_context() if feature_flags else {}), "aws:cdk:bundling-stacks": []}
    app = cdk.App(context=context)
    return SecureTrailStack(app, "SecureTrail", props=props,
                            env=cdk.Environment(account=account, region=REGION))


LOG_ARCHIVE_ACCOUNT = DEPLOY_ACCOUNT  # the organization shape's Log Archive account
ORG_TRAIL_BUCKET = f"{TRAIL_NAME}-logs-{LOG_ARCHIVE_ACCOUNT}-{REGION}"
ORG_ACCESS_LOG_BUCKET = f"{TRAIL_NAME}-access-logs-{LOG_ARCHIVE_ACCOUNT}-{REGION}"
SHAPES = ("single", "organization")


def build_organization(props: SecureTrailProps) -> tuple[LogArchiveStack, TrailStack]:
    """The organization shape as app.py builds it: Log Archive in 222222222222, the trail in
    the management account 111111111111, one region."""
    app = cdk.App(context={**cdk_json_context(), "aws:cdk:bundling-stacks": []})
    return organization_stacks(app, props=props, region=REGION)


def organization_props(**overrides) -> SecureTrailProps:
    return default_props(log_archive_account_id=LOG_ARCHIVE_ACCOUNT, **overrides)


def full_organization_props() -> SecureTrailProps:
    return dataclasses.replace(full_props(), log_archive_account_id=LOG_ARCHIVE_ACCOUNT)


def default_props(**overrides) -> SecureTrailProps:
    base = {"org_id": ORG_ID, "trail_name": TRAIL_NAME, "management_account_id": MANAGEMENT_ACCOUNT}
    return SecureTrailProps(**{**base, **overrides})


def full_props() -> SecureTrailProps:
    return default_props(
        s3_key_prefix="org/trail", log_reader_arns=(READER_ARN,),
        object_lock=ObjectLock(ObjectLockMode.COMPLIANCE, 400),
        insights=True, s3_data_events=True, lambda_data_events=True)


@pytest.fixture(scope="session")
def default_stack() -> SecureTrailStack:
    return build_stack(default_props())


@pytest.fixture(scope="session")
def template(default_stack) -> Template:
    return Template.from_stack(default_stack)


@pytest.fixture(scope="session")
def full_stack() -> SecureTrailStack:
    return build_stack(full_props())


@pytest.fixture(scope="session")
def full_template(full_stack) -> Template:
    return Template.from_stack(full_stack)


@pytest.fixture(scope="session")
def org_stacks() -> tuple[LogArchiveStack, TrailStack]:
    return build_organization(organization_props())


@pytest.fixture(scope="session")
def log_archive_template(org_stacks) -> Template:
    return Template.from_stack(org_stacks[0])


@pytest.fixture(scope="session")
def trail_template(org_stacks) -> Template:
    return Template.from_stack(org_stacks[1])


@pytest.fixture(scope="session")
def full_org_stacks() -> tuple[LogArchiveStack, TrailStack]:
    return build_organization(full_organization_props())


@pytest.fixture(scope="session")
def full_log_archive_template(full_org_stacks) -> Template:
    return Template.from_stack(full_org_stacks[0])


@pytest.fixture(scope="session")
def full_trail_template(full_org_stacks) -> Template:
    return Template.from_stack(full_org_stacks[1])


@pytest.fixture(scope="session")
def brought_parts(tmp_path_factory) -> tuple[cdk.Stack, Path]:
    """The stack whose trail brings its own bucket, key, topic and log group
    (``shape_fixtures.synthesize_brought_parts``), and its assembly's folder: once for the run."""
    from shape_fixtures import synthesize_brought_parts
    outdir = tmp_path_factory.mktemp("brought") / "cdk.out"
    return synthesize_brought_parts(outdir), outdir


# Fixtures that synthesize app.py in a subprocess: their tests are slow (make test-fast skips them).
SUBPROCESS_SYNTHS = frozenset(("default_cdk_out", "organization_cdk_out", "unmonitored_cdk_out"))


def pytest_collection_modifyitems(items):
    for item in items:
        if SUBPROCESS_SYNTHS & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def default_cdk_out(tmp_path_factory) -> Path:
    """``make synth``'s assembly (app.py with cdk.json's context), once for the whole run:
    tests that weaken it edit a copy (``evidence_assemblies.copy_assembly``)."""
    from evidence_assemblies import synthesize
    return synthesize(tmp_path_factory.mktemp("default") / "cdk.out")


@pytest.fixture(scope="session")
def organization_cdk_out(tmp_path_factory) -> Path:
    """The organization shape's assembly, as ``make synth`` with the two account ids makes it."""
    from evidence_assemblies import ORGANIZATION_CONTEXT, synthesize
    return synthesize(tmp_path_factory.mktemp("organization") / "cdk.out", **ORGANIZATION_CONTEXT)


def resolve_arn_join(value) -> str:
    """Flatten an Fn::Join of literal parts and pseudo refs to a readable ARN string."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(resolve_arn_join(p) for p in parts)
    if "Ref" in value:
        return {"AWS::Partition": "aws"}.get(value["Ref"], f"<{value['Ref']}>")
    if "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    raise AssertionError(f"unexpected intrinsic {value}")


def policy_statements(template: Template, resource_type: str, policy_property: str,
                      logical_id_contains: str = "") -> list[dict]:
    """Every statement of the policies of one resource type, ARNs flattened."""
    found = []
    for logical_id, resource in template.find_resources(resource_type).items():
        if logical_id_contains in logical_id:
            found.extend(_flatten(resource["Properties"][policy_property]["Statement"]))
    return found


def statement(statements: list[dict], sid: str) -> dict:
    matches = [s for s in statements if s.get("Sid") == sid]
    assert len(matches) == 1, f"expected one statement {sid}, got {len(matches)}"
    return matches[0]


def _flatten(node):
    if isinstance(node, list):
        return [_flatten(n) for n in node]
    if isinstance(node, dict):
        if set(node) & {"Fn::Join", "Ref", "Fn::GetAtt"} and len(node) == 1:
            return resolve_arn_join(node)
        return {k: _flatten(v) for k, v in node.items()}
    return node


@pytest.fixture(autouse=True)
def empty_powertools_metrics():
    """Every test starts from an empty Powertools metric set: the handlers' ``Metrics`` share
    one class-level set (metrics, dimensions, metadata), which a run that did not flush leaves
    filled for the next test."""
    from aws_lambda_powertools import Metrics

    metrics = Metrics()
    metrics.clear_metrics()
    metrics.clear_default_dimensions()


@pytest.fixture
def aws_env(monkeypatch):
    """Fake credentials and a region for moto. (Never name a moto bucket ``logs``: moto
    routes ``logs.*`` hosts to CloudWatch Logs and answers 404.)"""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def moto_server():
    """A moto server on a free port: for code that does not go through botocore (obstore)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def moto_endpoint(moto_server, aws_env, monkeypatch):
    """The moto server, emptied, as every AWS client's endpoint (AWS_ENDPOINT_URL)."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")).close()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    return moto_server


# The organization trail validate-logs finds on the moto server (the ``org_trail`` fixture):
# its bucket, the ARN describe-trails answers (moto's account), its chains (account, region).
MOTO_TRAIL_BUCKET = "org-trail-bucket"
MOTO_TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:123456789012:trail/{TRAIL_NAME}"
MOTO_TRAIL_CHAINS = [ChainId(a, r) for a in ("111111111111", "222222222222") for r in ("us-east-1", "eu-west-1")]


@pytest.fixture
def org_trail(moto_endpoint, monkeypatch):
    """A multi-region organization trail on the moto server, with log file validation: six
    hours of digests and logs from an hour before ``T0`` for each chain, under the prefix
    ``org``; ListPublicKeys (which moto does not implement) answers the simulation's key.
    The simulated trail, with its S3 client as ``s3``."""
    import boto3

    from trail_simulation import T0, SimulatedTrail
    from trail_validators.digests import aws as aws_adapters

    sim = SimulatedTrail(TrailLocation(MOTO_TRAIL_BUCKET, "org", ORG_ID, TRAIL_NAME, "us-east-1"))
    for chain in MOTO_TRAIL_CHAINS:
        sim.deliver(chain, T0 - timedelta(hours=1), 6)  # to the digest that covers the window's last hour
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=MOTO_TRAIL_BUCKET)
    sim.upload(s3)
    boto3.client("cloudtrail").create_trail(Name=TRAIL_NAME, S3BucketName=MOTO_TRAIL_BUCKET, S3KeyPrefix="org",
                                            IsMultiRegionTrail=True, IsOrganizationTrail=True,
                                            EnableLogFileValidation=True)
    monkeypatch.setattr(aws_adapters, "cloudtrail_public_keys", lambda factory: lambda region, w: sim.public_keys)
    sim.s3 = s3
    return sim


def trail_key_id(template: Template) -> str:
    """The trail's key (the validators' state key is the other one, when validators are on)."""
    (logical_id,) = [k for k in template.find_resources("AWS::KMS::Key")
                     if k.startswith(("SecureTrailKey", "LogArchiveKey"))]
    return logical_id
