"""Email bodies from `templates/<name>.txt` and `<name>.html`, filled with `string.Template`.

`$name` placeholders only: no expressions, loops or attribute access, so a template cannot run code.
Every value put into the HTML part is escaped, except `SafeHtml` fragments the code built itself
(rows of a digest table, already escaped cell by cell).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

from services.errors import NotificationInvalid

TEMPLATES = Path(__file__).with_name("templates")


class SafeHtml(str):
    """HTML that is put into a template as it is: build it with `html.escape` on every value."""

    __slots__ = ()


@dataclass(frozen=True)
class Rendered:
    text: str
    html: str


def render(name: str, context: Mapping[str, Any], *, folder: Path = TEMPLATES) -> Rendered:
    """Both parts of template `name`; raises NotificationInvalid for an unknown template or a
    placeholder the context does not fill."""
    if not name.replace("_", "").isalnum():
        raise NotificationInvalid(f"bad template name {name!r}")
    text_path, html_path = folder / f"{name}.txt", folder / f"{name}.html"
    if not text_path.is_file() or not html_path.is_file():
        raise NotificationInvalid(f"no template {name!r} (needs {name}.txt and {name}.html)")
    plain = {key: str(value) for key, value in context.items()}
    escaped = {key: value if isinstance(value, SafeHtml) else html.escape(str(value)) for key, value in context.items()}
    try:
        return Rendered(
            Template(text_path.read_text()).substitute(plain), Template(html_path.read_text()).substitute(escaped)
        )
    except KeyError as error:
        raise NotificationInvalid(f"template {name!r} needs a value for {error.args[0]!r}") from None
    except ValueError as error:
        raise NotificationInvalid(f"template {name!r}: {error}") from None
