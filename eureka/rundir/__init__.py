"""The run directory: the one place that writes and reads run.json, candidate folders,
events and the runs index. Every stage hands it typed records.
"""
