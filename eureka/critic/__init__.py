"""Critic: static checks, the sandboxed probe, the ranking pre-filter and novelty.

May import: task, envs, sandbox, reward, training records. Never: design, loop, views.
"""
