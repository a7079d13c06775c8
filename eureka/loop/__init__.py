"""Loop: the generation loop (search), selection of elites and islands (select), constant
tuning (tune), recording training outcomes (outcomes), reflection on them (reflect), and
restoring a resumed run (replay).

The one stage that ties design, critic and training together. Views never import it.
"""
