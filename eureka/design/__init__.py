"""Design: asking a model for reward code (designer.py: ask, repair, review, structured specs
and edits; llm clients, prompts, structured specs).

May import: task, config, envs (space descriptions), critic (checking replies), rundir. Never:
loop, views.
"""
