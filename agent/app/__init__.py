"""The Gradio app's rooms: one module per tab (tab_screen, tab_session, recording, tab_ask, tab_traces,
tab_library) and the plain helpers they share, tested without a browser; app.py puts the tabs together."""
