"""Loop: the generation loop (search), selection of elites and islands, constant tuning,
and reflection on training outcomes.

The one stage that ties design, critic and training together. Views never import it.
"""
