"""The run directory: store.py writes run.json, candidate folders and events; reader.py is
the one reader of them. Every stage hands it typed records.
"""
