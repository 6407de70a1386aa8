"""CloudWatch Logs -> enrichment -> OpenSearch (seed 003): the pure core (``subscription``,
``records``, ``filter_pattern``, ``detections``, ``documents``), the OpenSearch sink
(``sink``, the only module that imports opensearch-py), the account-name cache
(``accounts``) and what ``secure-trail analytics setup`` installs (``index_template``,
``saved_objects.ndjson``)."""
