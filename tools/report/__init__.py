"""What a physio reads: verdict headlines, criterion names in plain words, the session scorecard and the
recording's split, rendered as HTML and PDF."""
