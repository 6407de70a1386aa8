"""CloudWatch Logs -> enrichment -> OpenSearch: the pure core (``subscription``, ``records``,
``filter_pattern``, ``detections``, ``documents``), the OpenSearch sink (``sink``, the only
module that imports opensearch-py) and the account-name cache (``accounts``). What
``secure-trail analytics setup`` installs lives with that command (``cli.analytics_setup``)."""
