"""The one-line summary every pipeline run ends with (one JSON record in JSON mode)."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from ingestion.core.budget import MIB


@dataclass
class RunSummary:
    """What a run did: counts that reconcile, volume, time and peak memory of the tree."""

    pipeline: str
    dataset: str
    inputs: int = 0
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    peak_memory_bytes: int = 0
    skipped_inputs: int = 0
    failed_inputs: list[str] = field(default_factory=list)
    load_ids: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_rejected

    def line(self) -> str:
        rate = self.rows_loaded / self.seconds if self.seconds else 0.0
        text = (
            f"{self.pipeline}: {self.inputs} inputs loaded ({self.skipped_inputs} unchanged, "
            f"{len(self.failed_inputs)} failed), rows read {self.rows_read:,} = loaded "
            f"{self.rows_loaded:,} + rejected {self.rows_rejected:,}"
            f"{'' if self.reconciles else ' (DOES NOT RECONCILE)'}, "
            f"{self.bytes_read / MIB:,.1f} MB in {self.seconds:.1f} s ({rate:,.0f} rows/s), "
            f"peak memory {self.peak_memory_bytes / MIB:,.0f} MB -> {self.dataset}"
        )
        for key, value in self.extra.items():
            text += f", {key} {value}"
        return text

    def record(self) -> dict[str, Any]:
        return {"event": "run_summary", **asdict(self), "reconciles": self.reconciles}

    def emit(self, logger: logging.Logger, log_format: str) -> None:
        if log_format == "json":
            logger.info("run summary", extra={"fields": self.record()})
        else:
            print(self.line(), flush=True)

    def to_json(self) -> str:
        return json.dumps(self.record(), default=str)
