"""Cloud assemblies for the evidence report's tests: synthesized by app.py exactly as
`make synth` runs it (cdk.json's context), and copies of them with a template edited."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

from conftest import REPO, cdk_json_context

ORGANIZATION_CONTEXT = {"logArchiveAccountId": "222222222222", "managementAccountId": "111111111111"}


def synthesize(outdir: Path, **context) -> Path:
    """app.py with cdk.json's context (plus ``context``), asset bundling skipped (the
    report never reads assets)."""
    env = dict(os.environ, CDK_OUTDIR=str(outdir),
               CDK_CONTEXT_JSON=json.dumps({**cdk_json_context(), **context, "aws:cdk:bundling-stacks": []}))
    done = subprocess.run([sys.executable, "app.py"], cwd=REPO, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return outdir


def copy_assembly(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("asset.*"))
    return target


def template_path(cdk_out: Path, stack: str) -> Path:
    return cdk_out / f"{stack}.template.json"


def edit_template(cdk_out: Path, stack: str, change: Callable[[dict], None]) -> Path:
    path = template_path(cdk_out, stack)
    template = json.loads(path.read_text())
    change(template["Resources"])
    path.write_text(json.dumps(template, indent=1))
    return cdk_out


def of_type(resources: dict, resource_type: str) -> list[dict]:
    return [body for body in resources.values() if body["Type"] == resource_type]


def logical_ids(resources: dict, resource_type: str) -> list[str]:
    return [logical_id for logical_id, body in resources.items() if body["Type"] == resource_type]


def trail(resources: dict) -> dict:
    (found,) = of_type(resources, "AWS::CloudTrail::Trail")
    return found["Properties"]


def bucket_id(resources: dict, role: str) -> str:
    """``trail`` (the bucket the trail writes) or ``access_log``."""
    trail_bucket = trail(resources)["S3BucketName"]["Ref"]
    if role == "trail":
        return trail_bucket
    return resources[trail_bucket]["Properties"]["LoggingConfiguration"]["DestinationBucketName"]["Ref"]


def bucket_policy(resources: dict, role: str) -> dict:
    bucket = bucket_id(resources, role)
    (policy,) = [body for body in of_type(resources, "AWS::S3::BucketPolicy")
                 if body["Properties"]["Bucket"] == {"Ref": bucket}]
    return policy["Properties"]["PolicyDocument"]


def trail_key(resources: dict) -> dict:
    return resources[trail(resources)["KMSKeyId"]["Fn::GetAtt"][0]]["Properties"]


def cloudtrail_source_arn(value) -> Callable[[dict], None]:
    """An edit of the resources: every bucket policy's ``aws:SourceArn`` that names a trail becomes ``value``."""
    def change(resources: dict) -> None:
        for policy in of_type(resources, "AWS::S3::BucketPolicy"):
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                for entries in statement.get("Condition", {}).values():
                    if "aws:SourceArn" in entries and "cloudtrail" in json.dumps(entries["aws:SourceArn"]):
                        entries["aws:SourceArn"] = value
    return change
