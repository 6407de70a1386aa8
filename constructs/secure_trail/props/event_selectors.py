"""Typed advanced event selectors and Insights types, checked at synth against what
CloudTrail accepts on a trail (the ``AdvancedFieldSelector`` reference of the CloudTrail
API): a bad selector fails ``cdk synth`` naming the selector, the field and the fix, never
``cdk deploy``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Optional, Sequence

from aws_cdk import Token

from .checks import SecureTrailConfigError, keep_lists_as_tuples


class ManagementEventSources(str, Enum):
    """The management event sources a trail can leave out (``eventSource`` ``NotEquals``)."""

    KMS = "kms.amazonaws.com"
    """AWS KMS calls (Encrypt, Decrypt, GenerateDataKey ... at high volume). Leaving them out
    also leaves out DisableKey and ScheduleKeyDeletion: CIS 4.7 / CloudWatch.7 cannot be met."""
    RDS_DATA_API = "rdsdata.amazonaws.com"
    """Amazon RDS Data API calls."""


class InsightType(str, Enum):
    """CloudTrail Insights types (``insight_types``)."""

    API_CALL_RATE = "ApiCallRateInsight"
    """Unusual rates of write management API calls (needs write management events)."""
    API_ERROR_RATE = "ApiErrorRateInsight"
    """Unusual rates of API calls that fail (needs management events)."""


OPERATORS = ("equals", "not_equals", "starts_with", "not_starts_with", "ends_with", "not_ends_with")
MANAGEMENT, DATA = "Management", "Data"
MANAGEMENT_FIELDS = ("eventCategory", "readOnly", "eventSource")
DATA_FIELDS = ("eventCategory", "readOnly", "eventName", "resources.type", "resources.ARN")
EQUALS_ONLY = ("eventCategory", "readOnly", "resources.type")
MAX_VALUES = 500
"""Values of all conditions of all selectors of one trail (the CloudTrail limit)."""
MAX_VALUE_LENGTH = 2048
MAX_NAME_LENGTH = 1000


@dataclass(frozen=True)
class FieldSelector:
    """One condition of a selector: ``field`` and the values of one or more operators
    (CloudTrail's ``AdvancedFieldSelector``). Management selectors take ``eventCategory``,
    ``readOnly`` and ``eventSource``; data selectors ``eventCategory``, ``readOnly``,
    ``eventName``, ``resources.type`` (exactly one, ``equals``) and ``resources.ARN``."""

    field: str
    equals: Sequence[str] = ()
    not_equals: Sequence[str] = ()
    starts_with: Sequence[str] = ()
    not_starts_with: Sequence[str] = ()
    ends_with: Sequence[str] = ()
    not_ends_with: Sequence[str] = ()

    def __post_init__(self) -> None:
        keep_lists_as_tuples(self, OPERATORS)

    def operators(self) -> dict[str, tuple[str, ...]]:
        """The operators given, with their values."""
        return {name: tuple(getattr(self, name)) for name in OPERATORS if getattr(self, name)}


@dataclass(frozen=True)
class AdvancedEventSelector:
    """One advanced event selector: the events that match every field selector are logged.
    Build them with ``management_events(...)`` and ``data_events(...)``."""

    field_selectors: Sequence[FieldSelector]
    name: Optional[str] = None

    def __post_init__(self) -> None:
        keep_lists_as_tuples(self, ("field_selectors",))

    @property
    def category(self) -> str | None:
        for selector in self.field_selectors:
            if isinstance(selector, FieldSelector) and selector.field == "eventCategory":
                return next(iter(selector.equals), None)
        return None

    def field(self, name: str) -> FieldSelector | None:
        return next((f for f in self.field_selectors if isinstance(f, FieldSelector) and f.field == name), None)

    @property
    def excluded_sources(self) -> tuple[str, ...]:
        """The management event sources this selector leaves out."""
        source = self.field("eventSource")
        return tuple(source.not_equals) if source is not None else ()

    @property
    def read_only(self) -> str | None:
        """``"true"`` (read events only), ``"false"`` (write only), or None (both)."""
        read = self.field("readOnly")
        return next(iter(read.equals), None) if read is not None else None


def management_events(*, exclude_sources: Sequence[ManagementEventSources | str] = (),
                      read_only: bool | None = None, name: str | None = None) -> AdvancedEventSelector:
    """Management events, read and write unless ``read_only`` is True (read only) or False
    (write only), leaving out ``exclude_sources`` (``ManagementEventSources``). Anything but
    all read and write management events leaves CIS 3.1 / CloudTrail.1 not satisfied."""
    selectors = [FieldSelector("eventCategory", equals=[MANAGEMENT])]
    if read_only is not None:
        selectors.append(FieldSelector("readOnly", equals=[str(bool(read_only)).lower()]))
    if exclude_sources:
        selectors.append(FieldSelector("eventSource", not_equals=[_value(s) for s in exclude_sources]))
    default = "Management events" + (f" except {', '.join(_value(s) for s in exclude_sources)}"
                                     if exclude_sources else "")
    return AdvancedEventSelector(field_selectors=selectors, name=default if name is None else name)


def data_events(resource_type: str, *, read_only: bool | None = None, event_names: Sequence[str] = (),
                arn_starts_with: Sequence[str] = (), arn_not_starts_with: Sequence[str] = (),
                name: str | None = None) -> AdvancedEventSelector:
    """Data events of ``resource_type`` (e.g. ``AWS::S3::Object``, ``AWS::Lambda::Function``,
    ``AWS::DynamoDB::Table``), optionally only read or write events, only ``event_names``,
    and only resources whose ARN starts with ``arn_starts_with`` (not with
    ``arn_not_starts_with``). S3 object selectors always leave out the trail's own buckets."""
    selectors = [FieldSelector("eventCategory", equals=[DATA]), FieldSelector("resources.type", equals=[resource_type])]
    if read_only is not None:
        selectors.append(FieldSelector("readOnly", equals=[str(bool(read_only)).lower()]))
    if event_names:
        selectors.append(FieldSelector("eventName", equals=event_names))
    if arn_starts_with or arn_not_starts_with:
        selectors.append(FieldSelector("resources.ARN", starts_with=arn_starts_with,
                                       not_starts_with=arn_not_starts_with))
    default = f"{resource_type} data events"
    return AdvancedEventSelector(field_selectors=selectors, name=default if name is None else name)


def _value(value: object) -> object:
    return value.value if isinstance(value, Enum) else value


def _fail(where: str, value: object, expected: str) -> None:
    raise SecureTrailConfigError(f"{where}: {value!r} is not valid; expected {expected}")


def validate_selectors(selectors: Sequence[AdvancedEventSelector] | None) -> None:
    """Raise SecureTrailConfigError naming the first selector CloudTrail would refuse, or one
    that would leave the trail without management events."""
    if selectors is None:
        return
    prop = "advanced_event_selectors"
    if isinstance(selectors, (str, AdvancedEventSelector)) or not isinstance(selectors, (list, tuple)):
        _fail(prop, selectors, "a list of AdvancedEventSelector (management_events(...), data_events(...))")
    total = 0
    management = []
    for number, selector in enumerate(selectors):
        where = f"{prop}[{number}]"
        if not isinstance(selector, AdvancedEventSelector):
            _fail(where, selector, "an AdvancedEventSelector (management_events(...), data_events(...))")
        if selector.name is not None and not (isinstance(selector.name, str) and
                                              0 < len(selector.name) <= MAX_NAME_LENGTH):
            _fail(f"{where}.name", selector.name, f"1-{MAX_NAME_LENGTH} characters, or None")
        if not selector.field_selectors:
            _fail(f"{where}.field_selectors", selector.field_selectors, "at least the eventCategory field selector")
        seen: set[str] = set()
        for index, field in enumerate(selector.field_selectors):
            at = f"{where}.field_selectors[{index}]"
            if not isinstance(field, FieldSelector):
                _fail(at, field, "a FieldSelector")
            if field.field in seen:
                _fail(f"{at}.field", field.field, "each field once per selector: put all its values in one "
                      "FieldSelector")
            seen.add(field.field)
            operators = field.operators()
            if not operators:
                _fail(at, field, f"at least one operator with values ({', '.join(OPERATORS)})")
            for operator, values in operators.items():
                for value in values:
                    if Token.is_unresolved(value):
                        continue
                    if not (isinstance(value, str) and 0 < len(value) <= MAX_VALUE_LENGTH):
                        _fail(f"{at}.{operator}", value, f"strings of 1-{MAX_VALUE_LENGTH} characters")
                total += len(values)
            if field.field in EQUALS_ONLY and set(operators) != {"equals"}:
                _fail(f"{at}.field", field.field, f"only the equals operator on {field.field} (CloudTrail "
                      f"accepts no other operator on {', '.join(EQUALS_ONLY)})")
        category = selector.field("eventCategory")
        if category is None:
            _fail(where, selector.name, "an eventCategory field selector (equals=['Management'] or ['Data'])")
        if list(category.equals) not in ([MANAGEMENT], [DATA]):
            _fail(f"{where} eventCategory", list(category.equals), "exactly one of 'Management' or 'Data' "
                  "(one selector per category)")
        allowed = MANAGEMENT_FIELDS if selector.category == MANAGEMENT else DATA_FIELDS
        for field in selector.field_selectors:
            if field.field not in allowed:
                _fail(f"{where} field", field.field, f"one of {', '.join(allowed)} in a {selector.category} "
                      "event selector")
        read = selector.field("readOnly")
        if read is not None and (len(read.equals) != 1 or read.equals[0] not in ("true", "false")):
            _fail(f"{where} readOnly", list(read.equals), "equals=['true'] (read events only) or ['false'] "
                  "(write events only); leave readOnly out for both")
        if selector.category == MANAGEMENT:
            management.append(selector)
            source = selector.field("eventSource")
            known = [s.value for s in ManagementEventSources]
            if source is not None and (set(source.operators()) != {"not_equals"}
                                       or not set(source.not_equals) <= set(known)):
                _fail(f"{where} eventSource", source.operators(), f"not_equals with values of "
                      f"ManagementEventSources ({', '.join(known)}): the only management event sources "
                      "CloudTrail lets a trail leave out")
        else:
            kinds = selector.field("resources.type")
            if kinds is None or len(kinds.equals) != 1:
                _fail(f"{where} resources.type", kinds and list(kinds.equals), "exactly one resource type "
                      "(equals=['AWS::S3::Object'], for one): use one data selector per resource type")
    if len(management) != 1:
        _fail(prop, f"{len(management)} management selectors", "exactly one management_events(...) selector: "
              "an organization trail logs management events (combine exclusions into one selector)")
    if total > MAX_VALUES:
        _fail(prop, f"{total} values", f"at most {MAX_VALUES} values over all conditions of the trail (CloudTrail's "
              "limit)")


def validate_insight_types(insight_types: Sequence[InsightType], insights: bool,
                           selectors: Sequence[AdvancedEventSelector] | None) -> None:
    if isinstance(insight_types, str) or not isinstance(insight_types, (list, tuple)):
        _fail("insight_types", insight_types, "a list of InsightType, e.g. [InsightType.API_ERROR_RATE]")
    for kind in insight_types:
        if not isinstance(kind, InsightType):
            _fail("insight_types", kind, f"InsightType values ({', '.join(i.name for i in InsightType)})")
    if len(set(insight_types)) != len(insight_types):
        _fail("insight_types", list(insight_types), "each InsightType once")
    if insight_types and insights:
        _fail("insights", insights, "False with insight_types (insights=True is both types; pass one of the two)")
    management = [s for s in selectors or () if isinstance(s, AdvancedEventSelector) and s.category == MANAGEMENT]
    if InsightType.API_CALL_RATE in insight_types or insights:
        if management and management[0].read_only == "true":
            _fail("insight_types", "API_CALL_RATE", "a trail that logs write management events: Insights on API "
                  "call rates analyses write calls, and the management selector logs read events only")


def effective_insight_types(insight_types: Sequence[InsightType], insights: bool) -> tuple[InsightType, ...]:
    """``insights=True`` is both types."""
    return tuple(InsightType) if insights else tuple(insight_types)


