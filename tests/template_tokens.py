"""A synthesized template read as a deployment would see it: references resolved to
plausible literal names and ARNs, functions with their environment and the managed
policies of their roles, and IAM ``StringLike`` patterns as matchers."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Deployment:
    """Where the template is pretended deployed: every reference resolves in it."""

    resources: dict
    account: str
    region: str

    def resolve(self, node):
        if isinstance(node, str):
            return node
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        if "Fn::Join" in node:
            separator, parts = node["Fn::Join"]
            return separator.join(self.resolve(part) for part in parts)
        if "Ref" in node:
            return self._ref(node["Ref"])
        if "Fn::GetAtt" in node:
            logical_id, attribute = node["Fn::GetAtt"]
            assert attribute == "Arn", node
            return self._arn(logical_id)
        raise AssertionError(f"cannot resolve {node!r}")

    def resolve_within(self, node):
        """``node`` (an event pattern, a policy) with every reference in it resolved, at any depth."""
        if isinstance(node, dict):
            if len(node) == 1 and any(k == "Ref" or k.startswith("Fn::") for k in node):
                return self.resolve(node)
            return {k: self.resolve_within(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.resolve_within(v) for v in node]
        return node

    def name(self, logical_id: str) -> str:
        """The physical name: the template's literal one, or one made of the logical id."""
        resource = self.resources[logical_id]
        props = resource.get("Properties", {})
        literal = {"AWS::SNS::Topic": "TopicName", "AWS::DynamoDB::Table": "TableName",
                   "AWS::SQS::Queue": "QueueName", "AWS::S3::Bucket": "BucketName",
                   "AWS::Logs::LogGroup": "LogGroupName", "AWS::Lambda::Function": "FunctionName"}.get(resource["Type"])
        if isinstance(props.get(literal), str):
            return props[literal]
        return logical_id.lower() if resource["Type"] == "AWS::S3::Bucket" else logical_id

    def _ref(self, logical_id: str) -> str:
        pseudo = {"AWS::Partition": "aws", "AWS::Region": self.region, "AWS::AccountId": self.account,
                  "AWS::URLSuffix": "amazonaws.com"}
        if logical_id in pseudo:
            return pseudo[logical_id]
        kind = self.resources[logical_id]["Type"]
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{self.name(logical_id)}"
        if kind == "AWS::SNS::Topic":
            return self._arn(logical_id)
        return self.name(logical_id)

    def _arn(self, logical_id: str) -> str:
        kind, name = self.resources[logical_id]["Type"], self.name(logical_id)
        where = f"{self.region}:{self.account}"
        return {"AWS::S3::Bucket": f"arn:aws:s3:::{name}",
                "AWS::SQS::Queue": f"arn:aws:sqs:{where}:{name}",
                "AWS::SNS::Topic": f"arn:aws:sns:{where}:{name}",
                "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{where}:table/{name}",
                "AWS::IAM::Role": f"arn:aws:iam::{self.account}:role/{name}",
                "AWS::Events::Rule": f"arn:aws:events:{where}:rule/{name}",
                "AWS::KMS::Key": f"arn:aws:kms:{where}:key/{name}",
                "AWS::Logs::LogGroup": f"arn:aws:logs:{where}:log-group:{name}:*",
                "AWS::Lambda::Function": f"arn:aws:lambda:{where}:function:{name}"}[kind]

    # -- functions ------------------------------------------------------------------------
    def functions(self) -> dict[str, dict]:
        """handler -> the function's resource (one function per handler in this stack)."""
        found = {}
        for resource in self.resources.values():
            if resource["Type"] == "AWS::Lambda::Function":
                handler = resource["Properties"]["Handler"]
                assert handler not in found, handler
                found[handler] = resource
        return found

    def environment(self, handler: str) -> dict[str, str]:
        variables = self.functions()[handler]["Properties"].get("Environment", {}).get("Variables", {})
        return {name: self.resolve(value) for name, value in variables.items()}

    def role_statements(self, handler: str) -> list[dict]:
        """Every statement of the managed policies attached to the function's role."""
        role = _logical_ids(self.functions()[handler]["Properties"]["Role"])[0]
        statements = []
        for resource in self.resources.values():
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::IAM::ManagedPolicy" and {"Ref": role} in props.get("Roles", []):
                statements.extend(props["PolicyDocument"]["Statement"])
        return statements

    def of_type(self, resource_type: str) -> dict[str, dict]:
        return {k: r for k, r in self.resources.items() if r["Type"] == resource_type}

    def one(self, resource_type: str, contains: str) -> str:
        (logical_id,) = [k for k in self.of_type(resource_type) if contains in k]
        return logical_id


def string_like(pattern: str, value: str) -> bool:
    """IAM ``StringLike``: ``*`` any run of characters, ``?`` exactly one, case-sensitive."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _logical_ids(value) -> list[str]:
    """The resources a property refers to, by Ref or Fn::GetAtt, however deep in Fn::Join."""
    if isinstance(value, dict):
        if "Ref" in value:
            return [value["Ref"]]
        if "Fn::GetAtt" in value:
            return [value["Fn::GetAtt"][0]]
        return [found for inner in value.values() for found in _logical_ids(inner)]
    if isinstance(value, list):
        return [found for inner in value for found in _logical_ids(inner)]
    return []


def one(template, resource_type, contains=""):
    found = {k: v for k, v in template.find_resources(resource_type).items() if contains in k}
    assert len(found) == 1, (resource_type, contains, list(found))
    return next(iter(found.items()))
