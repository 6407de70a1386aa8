"""The CIS AWS Foundations section 4 monitoring (Security Hub CloudWatch.1-14, and CIS 4.15):
one metric filter per control on the trail's log group, with the exact documented pattern,
and one alarm per filter that notifies the alerts topic."""

from __future__ import annotations

from typing import Collection

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from ..contract import CIS_METRIC_NAMESPACE
from ..contract.monitoring_controls import CIS_BENCHMARK, MONITORING_CONTROLS, MonitoringControl


def enabled_controls(disabled: Collection[str]) -> list[MonitoringControl]:
    return [control for control in MONITORING_CONTROLS if control.control_id not in disabled]


class CisAlarms(Construct):
    """``alarms``/``metric_filters``: by control id, for the enabled controls only."""

    def __init__(self, scope: Construct, construct_id: str, *, log_group: logs.ILogGroup,
                 alerts_topic: sns.ITopic, controls: Collection[MonitoringControl]) -> None:
        super().__init__(scope, construct_id)
        self.metric_filters: dict[str, logs.MetricFilter] = {}
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for control in controls:
            name = control.control_id.replace(".", "")  # CloudWatch1 ... CIS415
            # literal: Security Hub fails a control whose pattern differs by any term, and
            # CDK's pattern builders quote values the documented patterns leave bare.
            metric_filter = logs.MetricFilter(
                self, f"{name}Filter", log_group=log_group,
                filter_pattern=logs.FilterPattern.literal(control.filter_pattern),
                metric_namespace=CIS_METRIC_NAMESPACE, metric_name=control.metric_name, metric_value="1")
            alarm = cloudwatch.Alarm(
                self, f"{name}Alarm",
                alarm_description=f"{control.control_id} ({CIS_BENCHMARK} {control.cis_section}): "
                                  f"{control.title} in the trail's CloudTrail events",
                metric=metric_filter.metric(statistic="Sum", period=Duration.minutes(5)),
                threshold=1, evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(alerts_topic))
            self.metric_filters[control.control_id] = metric_filter
            self.alarms[control.control_id] = alarm
