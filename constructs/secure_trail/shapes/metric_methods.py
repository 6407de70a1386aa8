"""The ``metric_*`` methods, shared by the single stack's ``SecureTrail`` and the
organization shape's two halves: each half has the methods of the validators it holds."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_cloudwatch as cloudwatch

from ..contract import AccessLogMetrics, DigestMetrics, Metric, PostureMetrics
from ..metrics import contract_metric
from ..props import SecureTrailConfigError, SecureTrailProps


class PostureMetricMethods:
    """The posture watcher's metric: every stack of either shape runs a posture watcher."""

    props: SecureTrailProps

    def metric_posture_findings(self, **options: Any) -> cloudwatch.Metric:
        """Calls that weakened the trail, its buckets, key or log group, and conditions the
        scheduled posture check found appearing (the posture watcher's alarm metric)."""
        return self._validator_metric(PostureMetrics.FINDINGS, "watch_posture", options)

    def _validator_metric(self, metric: Metric, enabled_by: str, options: dict[str, Any]) -> cloudwatch.Metric:
        if not getattr(self.props, enabled_by):
            raise SecureTrailConfigError(f"{enabled_by} is False: no validator emits {metric.name}; "
                                         f"turn {enabled_by} on to use this metric.")
        return contract_metric(metric, **options)


class LogMetricMethods(PostureMetricMethods):
    """The metrics of the validators that read the logs (where the trail bucket is)."""

    def metric_tampering_findings(self, **options: Any) -> cloudwatch.Metric:
        """Digest-chain findings that mean tampering (a bad signature or chain link, a missing,
        modified or injected object) per 5 minutes; any value above 0 needs an investigation.
        ``options``: any ``MetricOptions`` (``period``, ``statistic``, ``label`` ...)."""
        return self._validator_metric(DigestMetrics.TAMPERING_FINDINGS, "validate_digests", options)

    def metric_chain_gaps(self, **options: Any) -> cloudwatch.Metric:
        """Digest chains that restarted (logging or validation stopped and started again)."""
        return self._validator_metric(DigestMetrics.CHAIN_GAPS, "validate_digests", options)

    def metric_digests_validated(self, **options: Any) -> cloudwatch.Metric:
        """Digests that verified: a flat zero over hours means the validator examines nothing."""
        return self._validator_metric(DigestMetrics.DIGESTS_VALID, "validate_digests", options)

    def metric_non_tls_successes(self, **options: Any) -> cloudwatch.Metric:
        """Requests that reached the trail bucket without TLS and succeeded (the access-log
        auditor's critical finding)."""
        return self._validator_metric(AccessLogMetrics.NON_TLS_SUCCESS, "audit_access_logs", options)

    def metric_unparseable_access_log_lines(self, **options: Any) -> cloudwatch.Metric:
        """Access-log lines the auditor could not parse with certainty (never counted as TLS)."""
        return self._validator_metric(AccessLogMetrics.UNPARSEABLE_LINES, "audit_access_logs", options)

    def metric_requests_by_tls_version(self, tls_version: str, **options: Any) -> cloudwatch.Metric:
        """Requests to the trail bucket over ``tls_version`` (``TLSv1`` ... ``TLSv1.3``), or
        without TLS for ``"-"``, as the access-log auditor counted them."""
        return self._validator_metric(AccessLogMetrics.requests(tls_version), "audit_access_logs", options)
