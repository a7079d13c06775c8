"""Every template under eureka/views/templates compiles, and a missing value fails loudly."""

from __future__ import annotations

import jinja2
import pytest

from eureka.views.templating import TEMPLATES_DIR, html_environment, source_environment
from eureka.views.web.app import web_environment


def test_every_template_compiles() -> None:
    names = html_environment().list_templates()
    assert {"report.html.j2", "chart.html.j2", "web/run.html", "web/runs.html",
            "export/wrapper.py.j2", "export/reward_jax.py.j2"} <= set(names)
    for name in names:
        if name.startswith("export/"):
            source_environment().get_template(name)
        elif name.startswith("web/"):
            web_environment().get_template(name)
        else:
            html_environment().get_template(name)
    assert {p.name for p in TEMPLATES_DIR.iterdir()} == {"report.html.j2", "chart.html.j2", "web", "export"}


def test_pages_escape_and_source_does_not() -> None:
    text = '<b>"x"</b>'
    assert html_environment().from_string("{{ v }}").render(v=text) == "&lt;b&gt;&#34;x&#34;&lt;/b&gt;"
    assert source_environment().from_string("{{ v }}\n").render(v=text) == text + "\n"
    with pytest.raises(jinja2.UndefinedError):
        html_environment().from_string("{{ missing }}").render()
