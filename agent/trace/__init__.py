"""The run trace: recording it (hash-chained), checking it (schema + chain), publishing it as one HTML page."""
