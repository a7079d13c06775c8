"""Views: what a person sees: console progress, the terminal refine session, the HTML
report, the web dashboard, the runs index. Views read run directories only through
`eureka.rundir.reader`; they never train. Their templates are in templates/.
"""
