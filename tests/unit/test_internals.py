"""The private names of Dramatiq, periodiq and prometheus_client that Tickwork relies on are all in
actors/internals.py, and each is still what Tickwork expects of the pinned version."""

from __future__ import annotations

import re

import pytest

from actors.internals import RELIANCES, InternalsChanged, Reliance
from tests.support.workers import ROOT


@pytest.mark.parametrize("reliance", RELIANCES, ids=[r.name for r in RELIANCES])
def test_private_name_is_what_tickwork_relies_on(reliance):
    # When the installed library's private name is checked, Then it is as Tickwork uses it; if not,
    # the error names the library, its installed and pinned versions, the name and its use.
    reliance.verify()


def test_a_changed_private_name_fails_loudly_naming_the_pinned_version():
    # Given a reliance whose private name has gone
    def gone() -> None:
        raise AttributeError("type object '_RabbitmqConsumer' has no attribute 'known_tags'")

    reliance = Reliance("dramatiq", "_RabbitmqConsumer.known_tags", "actors.rabbitmq", "batch acks", gone)

    # When it is checked, Then the message says what changed, in which version, and where it is used
    with pytest.raises(InternalsChanged) as error:
        reliance.verify()
    message = str(error.value)
    assert re.search(r"dramatiq \d+\.\d+\.\d+ \(Tickwork pins dramatiq\[rabbitmq\][<>=,.\d]+\)", message), message
    assert "_RabbitmqConsumer.known_tags" in message and "actors.rabbitmq" in message and "batch acks" in message


# Attribute reads like `obj._name` or `self.obj._name` (not our own `self._name`), imports of
# `_names` from the libraries, and assignments to a library module's globals.
PRIVATE_READ = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\._[a-z]\w*")
PRIVATE_IMPORT = re.compile(r"^\s*from (dramatiq|periodiq|prometheus_client)\S* import .*\b_[A-Za-z]", re.MULTILINE)
MODULE_GLOBAL_WRITE = re.compile(r"^\s*(periodiq|dramatiq\w*|prom\w*)\.\w+\s*=", re.MULTILINE)


def test_no_module_but_internals_touches_a_private_name_of_a_library():
    # Given every module of actors/ except internals.py
    offenders = []
    for path in sorted((ROOT / "actors").rglob("*.py")):
        if path.name == "internals.py":
            continue
        text = path.read_text()
        code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        # Then none reads a private attribute of another object, imports a private name, or patches a module
        reads = [
            read
            for read in PRIVATE_READ.findall(code)
            if read.split(".")[0] not in ("self", "cls") or read.count(".") > 1
        ]
        found = reads + PRIVATE_IMPORT.findall(code) + MODULE_GLOBAL_WRITE.findall(code)
        found += [name for name in ('"_exception"', '"_tag"', '"_message"') if name in code]
        if found:
            offenders.append(f"{path.relative_to(ROOT)}: {found}")
    assert not offenders, offenders
