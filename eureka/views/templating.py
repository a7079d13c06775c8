"""The jinja2 environments of the templates under ``eureka/views/templates`` (one folder):
``report.html.j2``, ``web/`` (the dashboard), ``chart.html.j2`` (the SVG chart macro both
use) and ``export/`` (the Python modules `eureka.export` writes).

Both environments use StrictUndefined: a missing value fails loudly instead of rendering empty.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def html_environment() -> jinja2.Environment:
    """For pages: autoescape on, so code, problems and reflections (model output) stay text."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@lru_cache(maxsize=1)
def source_environment() -> jinja2.Environment:
    """For generated Python source: no escaping, and every character of the template kept."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
