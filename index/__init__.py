"""Retrieval: DuckDB catalog, embedders and FAISS stores over physio-scored clips and rubric passages."""
