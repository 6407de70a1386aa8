"""CloudTrail validators: one pure core (bytes in, findings out), boto3 adapters, and
three faces: Lambda handlers, the ``secure-trail`` command line tool, and the tests."""
