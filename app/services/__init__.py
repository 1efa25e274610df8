"""Services: each use case in one function that owns its transaction and its audit event."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.db import Database
from app.ingest import IngestLimits
from app.jobs import JobRunner
from app.llm import Provider
from app.render import SiteRenderer
from app.services.job_lease import JobLease
from app.services.views import ViewCounter
from app.site_template import TemplateRegistry
from app.storage import BlobStore, PageStore


@dataclass
class Deps:
    """Everything services need, built once by the app factory."""

    db: Database
    blobs: BlobStore
    pages: PageStore
    registry: TemplateRegistry
    renderer: SiteRenderer
    provider: Provider
    runner: JobRunner
    settings: dict[str, Any]
    lease: JobLease
    views: ViewCounter = field(default_factory=ViewCounter)

    def close(self) -> None:
        """Finish the running jobs and save the counted views (at exit)."""
        self.runner.shutdown()
        self.lease.stop()
        self.views.flush(self.db)

    @property
    def ingest_limits(self) -> IngestLimits:
        """Return the file limits from the settings."""
        return IngestLimits(max_file_bytes=self.settings["MAX_FILE_MB"] * 1024 * 1024)
