"""Credit-scoring core library: Home Credit tables, features, model bundle, decision policy, client store."""

__version__ = "0.1.0"
