"""One screening run: the FMS protocol as data, the steps the agent calls, the brains that choose them, the decision policy."""
