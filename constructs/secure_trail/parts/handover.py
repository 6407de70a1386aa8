"""Handing over the policy statements of parts the stack does not own.

A brought bucket, a key of another account or stack, a brought topic or log-group role
cannot have its policy edited here. For each, the exact statements CloudTrail and the
validators need (``contract.handover``: the same statements ``posture.handover`` checks a
live policy for) are
handed over three ways: a synth warning ``secure-trail:handover-<part>``, a stack output
``SecureTrailHandover<Part>`` (JSON, resolved at deploy time) and a file
``<outdir>/<stack>.secure-trail-handover.json`` written at synth (plain JSON where the
stack's environment is known).
"""

from __future__ import annotations

import json
import os
from typing import Any

import jsii
from aws_cdk import Annotations, Aspects, CfnOutput, IAspect, Stack, Stage, Token
from aws_cdk.region_info import RegionInfo
from constructs import Construct, IConstruct

from ..contract.handover import HANDOVER_PARTS, handover_output_id

HANDOVER_FILE_SUFFIX = ".secure-trail-handover.json"


def handover_file(stack: Stack) -> str:
    """Where the handover file of ``stack`` is written."""
    return os.path.join(Stage.of(stack).outdir, f"{stack.artifact_id}{HANDOVER_FILE_SUFFIX}")


def output_id(part: str) -> str:
    return handover_output_id(part)


class Handover(Construct):
    """``add(part, statements, where)`` per part not owned; nothing is created without one."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.parts: dict[str, dict[str, Any]] = {}
        Aspects.of(self).add(_WriteHandoverFile(self))

    def add(self, part: str, statements: list[dict[str, Any]], where: str) -> None:
        """``where``: the policy the statements go into, in words (``the bucket policy of x``)."""
        if part not in HANDOVER_PARTS:
            raise ValueError(f"unknown handover part {part!r}; one of {', '.join(HANDOVER_PARTS)}")
        stack = Stack.of(self)
        self.parts[part] = {"policy": where, "statements": statements}
        Annotations.of(self).add_warning_v2(
            f"secure-trail:handover-{part}",
            f"This stack cannot edit {where}: its owner must add the statements of output "
            f"{output_id(part)} (also in {stack.artifact_id}{HANDOVER_FILE_SUFFIX} in the cloud "
            "assembly), or CloudTrail cannot use it.")
        CfnOutput(stack, output_id(part), value=stack.to_json_string(statements),
                  description=f"Statements to add to {where}"[:1000])


@jsii.implements(IAspect)
class _WriteHandoverFile:
    def __init__(self, handover: Handover) -> None:
        self._handover = handover

    def visit(self, node: IConstruct) -> None:
        if node is not self._handover or not self._handover.parts:
            return
        stack = Stack.of(self._handover)
        path = handover_file(stack)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as out:
            json.dump({"stack": stack.stack_name, "parts": plain(stack.resolve(self._handover.parts), stack)}, out,
                      indent=2, sort_keys=True)


def plain(value: Any, stack: Stack) -> Any:
    """``value`` (resolved) with the pseudo parameters the stack's environment fixes (partition,
    region, account) filled in and joins of plain strings joined: the file is for an owner to
    apply as it is. What the environment leaves open stays a CloudFormation expression."""
    known = {"AWS::Region": stack.region, "AWS::AccountId": stack.account}
    if not Token.is_unresolved(stack.region):
        partition = RegionInfo.get(stack.region).partition
        if partition:
            known["AWS::Partition"] = partition
    known = {name: v for name, v in known.items() if isinstance(v, str) and not Token.is_unresolved(v)}

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        if set(node) == {"Ref"} and node["Ref"] in known:
            return known[node["Ref"]]
        node = {key: walk(item) for key, item in node.items()}
        join = node.get("Fn::Join")
        if set(node) == {"Fn::Join"} and isinstance(join, list) and len(join) == 2 and isinstance(join[0], str) \
                and isinstance(join[1], list) and all(isinstance(part, str) for part in join[1]):
            return join[0].join(join[1])
        return node
    return walk(value)
