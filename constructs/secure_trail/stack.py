"""The deployable stack: one SecureTrail configured from CDK context."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from .props import SecureTrailProps
from .secure_trail import SecureTrail


class SecureTrailStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, props: SecureTrailProps,
                 **stack_kwargs: Any) -> None:
        super().__init__(scope, construct_id, description="secure-trail: organization CloudTrail "
                         "with validated integrity and TLS evidence", **stack_kwargs)
        self.secure_trail = SecureTrail(self, "SecureTrail", props)
