"""A setting's value that cannot be what was meant is refused naming the setting, before anything
starts: a mistyped blob URL would otherwise be a relative folder on each machine."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from zoetrope.settings import Settings


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("s3//zoetrope/blobs", "is not an S3 URL; write s3://BUCKET"),
        ("S3//zoetrope/blobs", "is not an S3 URL; write s3://BUCKET"),
        ("file//srv/blobs", "is a URL without its ':'; write file://..., or a folder's path"),
    ],
)
def test_a_blob_url_missing_its_colon_is_refused_not_made_a_local_folder(url, said):
    with pytest.raises(ValidationError) as e:
        Settings(blob_url=url)
    assert e.value.errors()[0]["loc"] == ("blob_url",) and said in str(e.value)


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("s3://zoetrope/blobs", "s3://zoetrope/blobs"),
        ("S3://zoetrope/blobs", "s3://zoetrope/blobs"),  # the scheme as the S3 filesystem knows it
        ("/srv/zoetrope/blobs", "/srv/zoetrope/blobs"),
        ("data/blobs", "data/blobs"),
        ("file:///srv/blobs", "file:///srv/blobs"),
    ],
)
def test_blob_urls_that_are_meant_are_taken(url, kept):
    assert Settings(blob_url=url).blob_url == kept
