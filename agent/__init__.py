"""Orchestration: brains, the screening run, the decision policy, traces, chat, the CLI."""
