"""Physio chat: answers about a run, grounded in its trace."""
