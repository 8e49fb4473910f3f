"""Redis key names. Every key of one job carries the job id as a hash tag."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Keys"]


@dataclass(frozen=True)
class Keys:
    """Key layout under one prefix: ``<prefix>:{<job_id>}:state`` and friends."""

    prefix: str = "jobstate"

    def state(self, job_id: str) -> str:
        """The job's record (a hash)."""
        return f"{self.prefix}:{{{job_id}}}:state"

    def history(self, job_id: str) -> str:
        """The job's capped history (a stream)."""
        return f"{self.prefix}:{{{job_id}}}:history"

    def archived(self, job_id: str) -> str:
        """The archived record of a completed job."""
        return f"{self.prefix}:{{{job_id}}}:archived"

    def archived_history(self, job_id: str) -> str:
        """The archived history of a completed job."""
        return f"{self.prefix}:{{{job_id}}}:archived-history"

    @property
    def jobs(self) -> str:
        """Index of every live job, scored by creation time (ms)."""
        return f"{self.prefix}:idx:jobs"

    @property
    def running(self) -> str:
        """Index of non-terminal jobs, scored by last activity (ms)."""
        return f"{self.prefix}:idx:running"

    @property
    def errored(self) -> str:
        """Index of jobs in the error status, scored by when they failed (ms)."""
        return f"{self.prefix}:idx:errored"

    @property
    def completed(self) -> str:
        """Index of jobs in a non-error terminal status, scored by completion (ms)."""
        return f"{self.prefix}:idx:completed"

    @property
    def archive(self) -> str:
        """Index of archived jobs, scored by completion (ms)."""
        return f"{self.prefix}:idx:archive"

    @property
    def channel(self) -> str:
        """Pub/sub channel carrying ``"<job_id> <version> <status>"`` change notices."""
        return f"{self.prefix}:events"

    def indexes(self) -> list[str]:
        """The four indexes the write scripts maintain, in script KEYS order."""
        return [self.jobs, self.running, self.errored, self.completed]
