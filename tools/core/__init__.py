"""The shared vocabulary every room uses: the canonical skeleton, the FMS test table, files, label rows, errors, statistics."""
