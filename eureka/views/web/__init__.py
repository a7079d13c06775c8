"""`eureka serve`: a small web dashboard of a runs directory, with the feedback actions of
`eureka refine` (text, ranking, an edited reward) that start the next generation.

Example::

    from eureka.views.web import create_app
    app = create_app(Path("runs"), sandbox="auto")   # any ASGI server; `serve` runs uvicorn
"""

from eureka.views.web.app import create_app, serve

__all__ = ["create_app", "serve"]
