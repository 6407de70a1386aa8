"""CloudTrail validators: one pure core (bytes in, findings out), boto3 adapters, and
three faces: Lambda handlers, the ``secure-trail`` command line tool, and the tests."""

__version__ = "0.2.0"
"""The one version of this repository's two distributions (``secure-trail``, the CDK
constructs, and ``secure-trail-validators``, this package and its command line)."""
