"""The pipeline bench counts S3 requests by bucket and type from SeaweedFS's Prometheus counters."""
from __future__ import annotations

from recast_devstack.seaweed import s3_request_counts

METRICS = """# HELP SeaweedFS_s3_request_total Counter of s3 requests.
# TYPE SeaweedFS_s3_request_total counter
SeaweedFS_s3_request_total{bucket="recast",code="200",type="GET"} 12
SeaweedFS_s3_request_total{bucket="recast",code="404",type="GET"} 3
SeaweedFS_s3_request_total{bucket="tansu",code="200",type="PUT"} 40
SeaweedFS_s3_request_total{bucket="",code="200",type="LIST"} 1
SeaweedFS_s3_request_seconds_count{bucket="tansu",type="PUT"} 99
"""


def test_requests_are_summed_over_codes_by_bucket_and_type() -> None:
    assert s3_request_counts(METRICS) == {"recast GET": 15.0, "tansu PUT": 40.0, "- LIST": 1.0}

