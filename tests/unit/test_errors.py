"""The error hierarchy: one shallow tree under TickworkError, and one NotFound the API maps to 404."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import services
from services.errors import NonRetryableError, NotFound, TickworkError


def exception_classes_defined_in_services() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(services.__path__, "services."):
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module.__name__:
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return list(found.values())


def test_every_exception_class_in_services_derives_from_tickwork_error():
    # Given every exception class a module of services/ defines
    classes = exception_classes_defined_in_services()
    assert len(classes) > 30  # the walk found them (a broken walk would make this test pass on nothing)

    # Then each is a TickworkError, so that a caller can catch Tickwork's own errors in one clause
    strays = [f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, TickworkError)]
    assert not strays, f"not under TickworkError: {strays}"


def test_every_exception_class_says_when_it_is_raised():
    undocumented = [
        f"{c.__module__}.{c.__qualname__}"
        for c in exception_classes_defined_in_services()
        if not (c.__doc__ or "").startswith("Raised when ")
    ]
    assert not undocumented, f"docstring does not start 'Raised when ...': {undocumented}"


def test_the_not_found_errors_share_one_base():
    # Given the errors that mean "no such id or name"
    not_found = {
        c.__name__
        for c in exception_classes_defined_in_services()
        if c.__name__.endswith("NotFound") and c is not NotFound
    }

    # Then each derives from NotFound, which the API answers 404 once for all
    assert not_found == {
        "BackupNotFound",
        "BotNotFound",
        "ConsoleNotFound",
        "InstrumentNotFound",
        "JobNotFound",
        "OrderNotFound",
        "PortfolioNotFound",
        "RecipientNotFound",
        "ReportNotFound",
        "RuleNotFound",
        "TaskNotFound",
        "TokenNotFound",
    }
    assert all(issubclass(c, NotFound) for c in exception_classes_defined_in_services() if c.__name__ in not_found)


def test_not_found_errors_raised_inside_actors_are_still_never_retried():
    from services.errors import PortfolioNotFound
    from services.market_data.catalog import InstrumentNotFound

    assert issubclass(PortfolioNotFound, NonRetryableError)
    assert issubclass(InstrumentNotFound, NonRetryableError)


def test_the_api_maps_not_found_once_and_no_subclass_by_name():
    from services.api.app import STATUS_BY_ERROR

    mapped = [kind for kind, _ in STATUS_BY_ERROR]
    assert (NotFound, 404) in STATUS_BY_ERROR
    assert not [kind for kind in mapped if kind is not NotFound and issubclass(kind, NotFound)]


def test_errors_that_callers_catch_as_value_errors_still_are():
    from services.sandbox.config import ConfigError
    from services.scheduling.market_hours import CalendarOutOfRange

    assert issubclass(CalendarOutOfRange, ValueError)
    assert issubclass(ConfigError, ValueError)


def test_every_exception_docstring_is_one_line():
    long = [c.__qualname__ for c in exception_classes_defined_in_services() if "\n" in (c.__doc__ or "").strip()]
    assert not long, f"docstring of more than one line: {long}"
