"""Design: asking a model for reward code (llm clients, prompts, structured specs).

May import: task, envs (space descriptions), rundir records. Never: loop, views.
"""
