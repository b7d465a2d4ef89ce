"""Every capability the agent can call, as plain functions over plain data.

tools/ never imports agent/ or index/: each module works on its own.
"""
