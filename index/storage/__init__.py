"""Storage: the DuckDB catalog, the FAISS vector stores and where both live on disk."""
