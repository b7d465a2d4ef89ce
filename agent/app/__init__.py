"""What the Gradio app (app.py) needs beside its widgets: plain Python, tested without a browser."""
