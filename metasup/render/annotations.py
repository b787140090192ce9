"""The review's findings as GitHub Actions annotations (``::error::``/``::warning::`` lines). Pure.

GitHub shows 10 annotations of a level per step and drops the others: a big fleet's 200 findings
would crowd out the run's own errors (a GitHub failure, a refused permission), so only the most
severe :data:`FINDING_ANNOTATIONS` of each level are annotated, and one more line counts the rest.
"""

from __future__ import annotations

from typing import Literal

from metasup.model.review import Review

FINDING_ANNOTATIONS = 5
"""Findings annotated per level (error: CRITICAL/HIGH, warning: MEDIUM), most severe first."""

LEVELS: tuple[tuple[Literal["error", "warning"], tuple[str, ...]], ...] = (
    ("error", ("CRITICAL", "HIGH")),
    ("warning", ("MEDIUM",)),
)


def finding_annotations(review: Review) -> list[tuple[Literal["error", "warning"], str]]:
    """``(level, text)`` per annotated finding (the review's findings are most severe first); LOW
    findings are in the comment only."""
    out: list[tuple[Literal["error", "warning"], str]] = []
    for level, severities in LEVELS:
        found = [f for f in review.findings if f.severity in severities]
        out += [(level, f"{f.severity}: {f.title} — {f.evidence}") for f in found[:FINDING_ANNOTATIONS]]
        if len(found) > FINDING_ANNOTATIONS:
            more = len(found) - FINDING_ANNOTATIONS
            out.append((level, f"… and {more} more {'/'.join(severities)} finding(s): in the job summary"))
    return out
