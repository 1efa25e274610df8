"""Where uploads and rendered pages are kept: files under DATA_DIR or an S3-compatible store.

Services see two small interfaces, :class:`BlobStore` and :class:`PageStore`;
:func:`build_stores` picks the backend from ``STORAGE_URL``.
"""

from app.storage.backends import BucketLocation, build_stores, parse_storage_url
from app.storage.base import BlobStore, PageStore, StoreUnavailable
from app.storage.local import LocalBlobStore, LocalPageStore, check_writable
from app.storage.s3 import S3BlobStore, S3PageStore, s3_client

__all__ = [
    "BlobStore",
    "BucketLocation",
    "LocalBlobStore",
    "LocalPageStore",
    "PageStore",
    "S3BlobStore",
    "S3PageStore",
    "StoreUnavailable",
    "build_stores",
    "check_writable",
    "parse_storage_url",
    "s3_client",
]
