"""Recast engine: learn a CSV conversion from one example pair, render it as a script, run and judge it.

Pure: imports nothing of Kafka, the database, S3 or any service.
"""
