"""Session reports: read a session manifest, build the FMS scorecard, render it as HTML and PDF."""
