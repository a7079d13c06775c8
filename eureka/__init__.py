"""eureka: an agent that writes reward functions for reinforcement learning.

The Python API (`eureka.run`, `eureka.load_run`, `eureka.load_reward`) lives in eureka.api and is
imported on first use, so the sandboxed jobs, which import this package, start light.
"""

__version__ = "0.1.0"

_API = ("run", "load_run", "load_reward", "RunResult", "FitnessRow")


def __getattr__(name: str):
    if name in _API:
        from eureka import api

        return getattr(api, name)
    raise AttributeError(f"module 'eureka' has no attribute {name!r}")


__all__ = ["__version__", *_API]
