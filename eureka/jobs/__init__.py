"""Entry points that run INSIDE a sandbox: `python -m eureka.jobs.<name> <scratch>`.

Each reads `job.json` from the scratch dir and writes `result.json` there. They are the
only places generated code is imported.
"""
