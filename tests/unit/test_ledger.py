"""Audit ledger (SPEC §5): the hash formula, tamper detection, idempotent appends, lost races."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from metasup.rolling.audit_ledger import (
    GENESIS_HASH,
    LedgerCorrupt,
    LedgerProblem,
    LedgerRecord,
    NewEntry,
    append,
    append_new,
    extend_ledger_text,
    format_ts,
    has_record,
    ledger_body,
    missing_entries,
    parse_ledger,
    record_hash,
    serialize,
    verify_ledger,
)

TS = "2026-10-05T06:00:00Z"
LATER = "2026-10-05T12:00:00Z"

PROMOTED = NewEntry(event="promoted", subject="momo-beta", data={"pr_number": 12}, dedupe_key="pr#12")
KILLED = NewEntry(
    event="killed",
    subject="momo-slow",
    data={"rules": ["alpha_negative", "cost_over_value"], "reason": "2 of 4 rules fired: alpha négatif"},
    dedupe_key="2026-10-05",
)
EMAILED = NewEntry(event="email_sent", subject="lp", data={"to": 3}, dedupe_key="2026-W40")
VETOED = NewEntry(event="vetoed", subject="news-sent", data={"pr_number": 7}, dedupe_key="pr#7")


def ledger_of(*entries: NewEntry) -> str:
    return serialize(append([], entries, TS, "run-1"))


def lines_of(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def problem_of(text: str) -> LedgerProblem:
    problem = verify_ledger(text)
    assert problem is not None, "tampering went unnoticed"
    return problem


def rehashed(line: str, **changes: Any) -> str:
    """``line`` with ``changes`` applied and its hash recomputed: a forger's careful edit."""
    fields = {**json.loads(line), **changes}
    fields["hash"] = record_hash(fields)
    return serialize([LedgerRecord.model_validate(fields)])


THREE = ledger_of(PROMOTED, KILLED, EMAILED)
FOUR = ledger_of(PROMOTED, KILLED, EMAILED, VETOED)


# --- the hash formula ----------------------------------------------------------------------------


def test_append__hash_is_sha256_of_the_canonical_json_computed_by_hand() -> None:
    (record,) = append(
        [], [NewEntry(event="email_sent", subject="lp", data={"période": "W40", "n": 2})], TS, "r1"
    )

    without_hash = {
        "seq": 1,
        "ts": TS,
        "run_id": "r1",
        "event": "email_sent",
        "subject": "lp",
        "data": {"période": "W40", "n": 2},
        "prev_hash": "0" * 64,
    }
    canonical = json.dumps(without_hash, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical.startswith('{"data":{"n":2,"période":"W40"},"event":"email_sent",')
    assert record.hash == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert record_hash(without_hash) == record.hash


def test_append__chains_seq_and_prev_hash_from_genesis() -> None:
    first, second, third = parse_ledger(THREE)

    assert [first.seq, second.seq, third.seq] == [1, 2, 3]
    assert first.prev_hash == GENESIS_HASH == "0" * 64
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash


def test_append__continues_an_existing_ledger() -> None:
    records = parse_ledger(THREE)

    (fourth,) = append(records, [VETOED], LATER, "run-2")

    assert (fourth.seq, fourth.prev_hash, fourth.ts, fourth.run_id) == (4, records[-1].hash, LATER, "run-2")
    assert verify_ledger(THREE + serialize([fourth])) is None


def test_append__stores_the_dedupe_key_in_data() -> None:
    (record,) = append([], [PROMOTED], TS, "r1")

    assert record.data == {"pr_number": 12, "dedupe_key": "pr#12"}
    assert record.dedupe_key == "pr#12"


# --- serializing and verifying -------------------------------------------------------------------


def test_verify_ledger__a_chain_of_three_is_valid() -> None:
    assert verify_ledger(THREE) is None
    assert len(lines_of(THREE)) == 3


def test_verify_ledger__an_empty_ledger_is_valid() -> None:
    assert verify_ledger("") is None
    assert parse_ledger("") == []
    assert serialize([]) == ""


def test_serialize__re_serializing_a_parsed_ledger_is_byte_identical() -> None:
    text = ledger_of(
        NewEntry(event="killed", subject="class:llm_macro", data={"α": [1.5, None, True], "z": {}})
    )

    assert serialize(parse_ledger(text)) == text
    assert text.endswith("\n")
    assert "α" in text  # raw UTF-8, not \u escapes


def test_parse_ledger__raises_ledger_corrupt_naming_the_line() -> None:
    text = THREE.replace('"subject":"momo-slow"', '"subject":"momo-fast"')

    with pytest.raises(LedgerCorrupt, match=r"line 2 \(seq 2\)") as caught:
        parse_ledger(text)

    assert caught.value.problem == verify_ledger(text)


def test_verify_ledger__middle_record_edited() -> None:
    text = FOUR.replace('"subject":"momo-slow"', '"subject":"momo-fast"')

    problem = problem_of(text)

    assert (problem.line, problem.seq, problem.kind) == (2, 2, "hash_mismatch")
    assert "edited" in problem.detail


def test_verify_ledger__middle_record_edited_and_rehashed_breaks_the_next_link() -> None:
    lines = lines_of(FOUR)
    lines[1] = rehashed(lines[1], subject="momo-fast")

    problem = problem_of("".join(lines))

    assert (problem.line, problem.seq, problem.kind) == (3, 3, "prev_hash_mismatch")


def test_verify_ledger__record_deleted() -> None:
    lines = lines_of(FOUR)
    del lines[1]

    problem = problem_of("".join(lines))

    assert (problem.line, problem.seq, problem.kind) == (2, 3, "seq_not_consecutive")
    assert "expected seq 2, found 3" in problem.detail


def test_verify_ledger__first_record_deleted() -> None:
    problem = problem_of("".join(lines_of(FOUR)[1:]))

    assert (problem.line, problem.seq, problem.kind) == (1, 2, "seq_not_consecutive")


def test_verify_ledger__two_records_reordered() -> None:
    lines = lines_of(FOUR)
    lines[1], lines[2] = lines[2], lines[1]

    problem = problem_of("".join(lines))

    assert (problem.line, problem.seq, problem.kind) == (2, 3, "seq_not_consecutive")


def test_verify_ledger__a_copied_record_inserted() -> None:
    lines = lines_of(FOUR)
    lines.insert(2, lines[1])

    problem = problem_of("".join(lines))

    assert (problem.line, problem.seq, problem.kind) == (3, 2, "seq_not_consecutive")


def test_verify_ledger__a_forged_record_inserted_with_a_valid_hash() -> None:
    records = parse_ledger(FOUR)
    (forged,) = append(records[:2], [NewEntry(event="promoted", subject="scalper-x")], TS, "forger")
    lines = lines_of(FOUR)
    lines.insert(2, serialize([forged]))

    problem = problem_of("".join(lines))

    assert (problem.line, problem.seq, problem.kind) == (4, 3, "seq_not_consecutive")


def test_verify_ledger__a_forged_record_renumbered_breaks_the_prev_hash_link() -> None:
    lines = lines_of(THREE)
    lines[0] = rehashed(lines[0], prev_hash="1" * 64)

    problem = problem_of("".join(lines))

    assert (problem.line, problem.seq, problem.kind) == (1, 1, "prev_hash_mismatch")
    assert "64 zeros" in problem.detail


def test_verify_ledger__last_record_hash_edited() -> None:
    lines = lines_of(FOUR)
    last = json.loads(lines[-1])
    digit = "0" if last["hash"][0] != "0" else "1"
    lines[-1] = lines[-1].replace(last["hash"], digit + last["hash"][1:])

    problem = problem_of("".join(lines))

    assert (problem.line, problem.seq, problem.kind) == (4, 4, "hash_mismatch")


def test_verify_ledger__truncated_last_line() -> None:
    problem = problem_of(FOUR[:-40])

    assert (problem.line, problem.seq, problem.kind) == (4, None, "truncated")


def test_verify_ledger__only_the_final_newline_cut() -> None:
    problem = problem_of(FOUR[:-1])

    assert (problem.line, problem.seq, problem.kind) == (4, 4, "truncated")


@pytest.mark.parametrize(
    ("line", "kind", "detail"),
    [
        ("not json\n", "invalid_json", "invalid JSON"),
        ("[1, 2]\n", "invalid_json", "expected an object"),
        ('{"seq": 1}\n', "missing_field", "missing fields: ts, run_id"),
        ('{"seq":1,"seq":1}\n', "invalid_json", "duplicate key 'seq'"),
        ('{"seq":NaN}\n', "invalid_json", "NaN is not JSON"),
        ('{"seq":1e999}\n', "invalid_json", "out of range"),
        ("[" * 100_000 + "\n", "invalid_json", "invalid JSON"),
    ],
)
def test_verify_ledger__unreadable_line_is_named(line: str, kind: str, detail: str) -> None:
    problem = problem_of(THREE + line)

    assert (problem.line, problem.kind) == (4, kind)
    assert detail in problem.detail


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"event": "deleted"}, "event"),
        ({"seq": "1"}, "seq"),
        ({"seq": True}, "seq"),
        ({"ts": "2026-10-05T06:00:00+02:00"}, "ts"),
        ({"data": []}, "data"),
        ({"extra": 1}, "extra"),
        ({"hash": "ABC"}, "hash"),
    ],
)
def test_verify_ledger__invalid_field_value_is_named(changes: dict[str, Any], field: str) -> None:
    fields = json.loads(lines_of(THREE)[0])

    problem = problem_of(json.dumps({**fields, **changes}) + "\n")

    assert (problem.line, problem.seq, problem.kind) == (
        1,
        fields["seq"] if field != "seq" else None,
        "invalid_field",
    )
    assert repr(field) in problem.detail


@pytest.mark.parametrize(
    "reformat",
    [
        pytest.param(lambda line: json.dumps(json.loads(line), sort_keys=True) + "\n", id="spaces"),
        pytest.param(
            lambda line: json.dumps(dict(reversed(json.loads(line).items())), separators=(",", ":")) + "\n",
            id="key-order",
        ),
        pytest.param(lambda line: line.replace("é", "\\u00e9"), id="ascii-escape"),
        pytest.param(lambda line: line.replace("\n", "\r\n"), id="crlf"),
    ],
)
def test_verify_ledger__a_reformatted_line_is_reported(reformat: Any) -> None:
    lines = lines_of(THREE)
    lines[1], original = reformat(lines[1]), lines[1]
    assert lines[1] != original

    problem = problem_of("".join(lines))

    assert (problem.line, problem.seq, problem.kind) == (2, 2, "not_canonical")


def test_verify_ledger__windows_line_ends_are_named_not_called_an_edit() -> None:
    """A checkout with git's core.autocrlf turns every LF into CR LF: the records are intact, and
    "reformatted or edited by hand" read as tampering (found by a newcomer's audit)."""
    problem = problem_of(THREE.replace("\n", "\r\n"))
    assert (problem.line, problem.kind) == (1, "not_canonical")
    assert "CR LF (Windows line ends" in problem.detail
    assert "edited by hand" not in problem.detail

    lines = lines_of(THREE)
    lines[1] = json.dumps(json.loads(lines[1]), sort_keys=True) + "\r\n"  # reformatted, too
    assert "edited by hand" in problem_of("".join(lines)).detail


def test_verify_ledger__an_equivalent_number_spelling_is_reported() -> None:
    text = ledger_of(NewEntry(event="email_sent", subject="lp", data={"capital": 1e20}))
    assert '"capital":1e+20' in text

    problem = problem_of(text.replace("1e+20", "1E+20"))

    assert problem.kind == "not_canonical"


# --- blank lines ---------------------------------------------------------------------------------


@pytest.mark.parametrize("tail", ["\n", "\n\n", "  \n", "\t", "\r\n", "\n \n\t\n"])
def test_verify_ledger__blank_lines_after_the_last_record_are_accepted(tail: str) -> None:
    """An editor (or GitHub's web editor) leaving an empty line at the end changes no record."""
    assert verify_ledger(THREE + tail) is None
    assert parse_ledger(THREE + tail) == parse_ledger(THREE)
    assert verify_ledger(tail) is None  # a ledger of nothing but a blank line holds no record


def test_verify_ledger__a_blank_line_between_records_is_named_with_its_line() -> None:
    lines = lines_of(THREE)

    problem = problem_of("".join([*lines[:2], "\n", *lines[2:]]))

    assert (problem.line, problem.seq, problem.kind) == (3, None, "blank_line")
    assert str(problem).startswith(
        "audit ledger broken at line 3: a blank line between records (after seq 2)."
    )
    assert "changes no record: delete line 3" in problem.detail
    first = problem_of(" \n" + THREE)
    assert (first.line, first.kind) == (1, "blank_line")
    assert "a blank line before the first record" in first.detail


def test_extend_ledger_text__chains_directly_after_the_last_record_past_blank_lines() -> None:
    extended = extend_ledger_text(THREE + "\n\n", [VETOED], LATER, "run-2")

    assert extended == THREE + serialize(append(parse_ledger(THREE), [VETOED], LATER, "run-2"))
    records = parse_ledger(extended)
    assert [r.seq for r in records] == [1, 2, 3, 4]
    assert records[3].prev_hash == records[2].hash
    assert serialize(records) == extended  # canonical again: no blank line left
    assert extend_ledger_text(extended, [VETOED], LATER, "run-3") == extended  # re-running writes nothing
    assert extend_ledger_text(THREE + "\n", [], LATER, "run-3") == THREE + "\n"  # nothing new: untouched


@pytest.mark.parametrize(
    ("text", "body"),
    [
        pytest.param(THREE + "\n \n", THREE, id="blank-lines-at-the-end"),
        pytest.param(THREE, THREE, id="canonical"),
        pytest.param(FOUR[:-1], FOUR[:-1], id="last-line-cut-short"),
        pytest.param("\n", "", id="only-a-blank-line"),
        pytest.param("", "", id="empty"),
    ],
)
def test_ledger_body__drops_only_the_blank_lines_after_the_last_record(text: str, body: str) -> None:
    assert ledger_body(text) == body


def test_ledger_problem__reads_as_one_sentence() -> None:
    problem = LedgerProblem(line=3, seq=3, kind="hash_mismatch", detail="the record was edited")

    assert str(problem) == "audit ledger broken at line 3 (seq 3): the record was edited"


JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
ENTRIES = st.builds(
    NewEntry,
    event=st.sampled_from(
        ["promotion_proposed", "promoted", "vetoed", "promotion_withdrawn", "killed", "email_sent"]
    ),
    subject=st.text(min_size=1, max_size=10),
    data=st.dictionaries(
        st.text(max_size=8).filter(lambda key: key != "dedupe_key"), JSON_VALUES, max_size=4
    ),
    dedupe_key=st.none() | st.text(min_size=1, max_size=8),
)


@settings(max_examples=200, deadline=None)
@given(entries=st.lists(ENTRIES, min_size=1, max_size=3), data=st.data())
def test_verify_ledger__any_single_byte_change_is_detected(
    entries: list[NewEntry], data: st.DataObject
) -> None:
    original = ledger_of(*entries).encode("utf-8")
    position = data.draw(st.integers(min_value=0, max_value=len(original) - 1), label="position")
    byte = data.draw(
        st.integers(min_value=0, max_value=255).filter(lambda b: b != original[position]), label="byte"
    )
    tampered = original[:position] + bytes([byte]) + original[position + 1 :]

    try:
        text = tampered.decode("utf-8")
    except UnicodeDecodeError:
        return  # unparsable as a ledger at all
    assert verify_ledger(text) is not None
    with pytest.raises(LedgerCorrupt):
        parse_ledger(text)


@settings(max_examples=50, deadline=None)
@given(entries=st.lists(ENTRIES, max_size=4))
def test_serialize__round_trips_any_entries(entries: list[NewEntry]) -> None:
    records = append([], entries, TS, "run-1")
    text = serialize(records)

    assert parse_ledger(text) == records
    assert serialize(parse_ledger(text)) == text


# --- entries and timestamps ----------------------------------------------------------------------


def test_new_entry__data_reads_back_as_json() -> None:
    entry = NewEntry(event="killed", subject="a", data={"rules": ("x", "y")})

    assert entry.data == {"rules": ["x", "y"]}


@pytest.mark.parametrize(
    "data",
    [{"value": float("nan")}, {"value": float("inf")}, {"value": object()}, {"dedupe_key": "x"}],
    ids=["nan", "inf", "object", "reserved-key"],
)
def test_new_entry__refuses_data_the_ledger_cannot_hold(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        NewEntry(event="killed", subject="a", data=data)


@pytest.mark.parametrize(
    "ts", ["2026-10-05T06:00:00", "2026-10-05T08:00:00+02:00", "2026-13-05T06:00:00Z", "yesterday"]
)
def test_append__refuses_a_timestamp_that_is_not_rfc3339_utc(ts: str) -> None:
    with pytest.raises(ValidationError):
        append([], [PROMOTED], ts, "run-1")


def test_append__accepts_both_utc_spellings() -> None:
    records = append([], [PROMOTED, KILLED], "2026-10-05T06:00:00.250+00:00", "run-1")

    assert verify_ledger(serialize(records)) is None


def test_format_ts__writes_utc_with_z() -> None:
    assert format_ts(datetime(2026, 10, 5, 6, 0, tzinfo=UTC)) == TS
    with pytest.raises(ValueError, match="UTC"):
        format_ts(datetime(2026, 10, 5, 8, 0, tzinfo=timezone(timedelta(hours=2))))
    with pytest.raises(ValueError, match="UTC"):
        format_ts(datetime(2026, 10, 5, 6, 0))


# --- idempotency ---------------------------------------------------------------------------------


def test_append_new__re_applying_the_same_entries_writes_nothing() -> None:
    records = parse_ledger(THREE)

    assert append_new(records, [PROMOTED, KILLED, EMAILED], LATER, "run-2") == []
    assert extend_ledger_text(THREE, [PROMOTED, KILLED, EMAILED], LATER, "run-2") == THREE


def test_append_new__records_only_what_is_missing() -> None:
    records = parse_ledger(THREE)

    new = append_new(records, [KILLED, VETOED], LATER, "run-2")

    assert [(r.seq, r.event, r.subject) for r in new] == [(4, "vetoed", "news-sent")]


def test_append_new__a_new_dedupe_key_is_a_new_fact() -> None:
    next_week = EMAILED.model_copy(update={"dedupe_key": "2026-W41"})

    new = append_new(parse_ledger(THREE), [next_week], LATER, "run-2")

    assert [r.dedupe_key for r in new] == ["2026-W41"]


def test_append_new__collapses_duplicates_within_one_batch() -> None:
    new = append_new([], [VETOED, VETOED, VETOED.model_copy(update={"data": {"pr_number": 99}})], TS, "r")

    assert len(new) == 1
    assert new[0].data["pr_number"] == 7  # the first wins


def test_append_new__an_entry_without_key_is_recorded_at_most_once() -> None:
    entry = NewEntry(event="promotion_withdrawn", subject="momo-beta")
    records = append_new([], [entry], TS, "r1")

    assert append_new(records, [entry], LATER, "r2") == []
    assert missing_entries(records, [entry.model_copy(update={"dedupe_key": "pr#3"})]) != []


def test_has_record__with_and_without_a_key() -> None:
    records = parse_ledger(THREE)

    assert has_record(records, "killed", "momo-slow")
    assert has_record(records, "killed", "momo-slow", key="2026-10-05")
    assert not has_record(records, "killed", "momo-slow", key="2026-10-12")
    assert not has_record(records, "killed", "momo-alpha")
    assert has_record(records, "email_sent", "lp", key="2026-W40")
    assert not has_record(records, "vetoed", "momo-slow")


def test_extend_ledger_text__refuses_to_chain_onto_a_broken_ledger() -> None:
    broken = THREE.replace('"subject":"momo-slow"', '"subject":"momo-fast"')

    with pytest.raises(LedgerCorrupt):
        extend_ledger_text(broken, [VETOED], LATER, "run-2")


# --- racing runs ---------------------------------------------------------------------------------


def test_extend_ledger_text__a_lost_race_is_re_applied_without_loss_or_duplicates() -> None:
    base = ledger_of(PROMOTED)
    run_a = [KILLED, EMAILED]
    run_b = [EMAILED, VETOED]
    written_by_a = extend_ledger_text(base, run_a, "2026-10-05T12:00:00Z", "run-a")
    written_by_b = extend_ledger_text(base, run_b, "2026-10-05T12:00:01Z", "run-b")

    # B's write lands first; A finds the ref moved, re-reads, and re-applies its entries.
    final = extend_ledger_text(written_by_b, run_a, "2026-10-05T12:00:00Z", "run-a")

    records = parse_ledger(final)
    assert verify_ledger(final) is None
    assert final.startswith(written_by_b)
    identities = [record.identity for record in records]
    assert sorted(identities) == sorted({e.identity for e in [PROMOTED, *run_a, *run_b]})
    assert len(identities) == len(set(identities))
    assert [r.run_id for r in records] == ["run-1", "run-b", "run-b", "run-a"]
    # Blindly concatenating A's pre-computed records instead would have broken the chain.
    assert verify_ledger(written_by_b + written_by_a[len(base) :]) is not None
