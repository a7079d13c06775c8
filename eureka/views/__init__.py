"""Views: what a person sees: console progress, the terminal refine session, the HTML
report, the web dashboard. Views read run directories through rundir; they never train.
"""
