"""Findings as GitHub annotations (``render/annotations.py``): GitHub shows 10 of a level per step,
so a big fleet's findings must not crowd out the run's own errors."""

from __future__ import annotations

from collections.abc import Callable

from metasup.model.review import Finding, Review
from metasup.render.annotations import FINDING_ANNOTATIONS, finding_annotations


def finding(severity: str, n: int) -> Finding:
    return Finding(severity=severity, kind="kill", title=f"{severity} {n}", impact="i", evidence="e")  # type: ignore[arg-type]


def test_a_few_findings__one_annotation_each_low_ones_none(review_factory: Callable[..., Review]) -> None:
    review = review_factory(findings=[finding("HIGH", 1), finding("MEDIUM", 2), finding("LOW", 3)])
    assert finding_annotations(review) == [("error", "HIGH: HIGH 1 — e"), ("warning", "MEDIUM: MEDIUM 2 — e")]


def test_hundreds_of_findings__the_most_severe_and_a_count_leave_room_for_the_runs_own(
    review_factory: Callable[..., Review],
) -> None:
    findings = (
        [finding("CRITICAL", 0)]
        + [finding("HIGH", n) for n in range(120)]
        + [finding("MEDIUM", n) for n in range(90)]
    )
    lines = finding_annotations(review_factory(findings=findings))

    errors = [text for level, text in lines if level == "error"]
    warnings = [text for level, text in lines if level == "warning"]
    assert len(errors) == len(warnings) == FINDING_ANNOTATIONS + 1 < 10  # GitHub shows 10 a level
    assert errors[0] == "CRITICAL: CRITICAL 0 — e"
    assert (
        errors[-1] == f"… and {121 - FINDING_ANNOTATIONS} more CRITICAL/HIGH finding(s): in the job summary"
    )
    assert warnings[-1] == f"… and {90 - FINDING_ANNOTATIONS} more MEDIUM finding(s): in the job summary"
