"""The wheel carries the top-level prompts/, tasks/ and sandboxes/ folders (their sources stay at the
top of the repository) as package data under eureka/shipped/; everything else is in pyproject.toml."""

import os

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("prompts", "tasks", "sandboxes")


class BuildWithShipped(build_py):
    def run(self) -> None:
        super().run()
        here = os.path.dirname(os.path.abspath(__file__))
        for name in SHIPPED:
            source = os.path.join(here, name)
            if os.path.isdir(source):
                self.copy_tree(source, os.path.join(self.build_lib, "eureka", "shipped", name))


setup(cmdclass={"build_py": BuildWithShipped})
