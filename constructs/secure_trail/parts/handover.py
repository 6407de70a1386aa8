"""Handing over the policy statements of parts the stack does not own.

A brought bucket, a key of another account or stack, a brought topic or log-group role
cannot have its policy edited here. For each, the exact statements CloudTrail and the
validators need (``contract.handover``: the same statements ``posture.handover`` checks a
live policy for) are
handed over three ways: a synth warning ``secure-trail:handover-<part>``, a stack output
``SecureTrailHandover<Part>`` (JSON, resolved at deploy time) and a file
``<outdir>/<stack>.secure-trail-handover.json`` written at synth.
"""

from __future__ import annotations

import json
import os
from typing import Any

import jsii
from aws_cdk import Annotations, Aspects, CfnOutput, IAspect, Stack, Stage
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
            json.dump({"stack": stack.stack_name, "parts": stack.resolve(self._handover.parts)}, out, indent=2,
                      sort_keys=True)
