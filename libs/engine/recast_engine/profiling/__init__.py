"""Data profiles of CSV files (one streaming pass, bounded memory) and drift between two of them."""
from recast_engine.profiling.pair import profile_pair, profile_pair_files, summarize
from recast_engine.profiling.table import profile_bytes, profile_file, profile_rows, profile_stream

__all__ = ["profile_bytes", "profile_file", "profile_pair", "profile_pair_files", "profile_rows", "profile_stream",
           "summarize"]
