"""Validate the fake's responses against GitHub's official (dereferenced) OpenAPI description.

The description is ``generated/api.github.com.deref.json`` of ``@octokit/openapi``: every ``$ref``
is already inlined, so a response schema is a self-contained JSON Schema (OpenAPI 3.0 dialect:
``nullable``, ``readOnly``...).  It is loaded once per test session; only the operations the fake
serves are kept, and a validator is built lazily per (method, path template, status, media type)
and cached.

Policy (see :meth:`OpenAPISpec.validate_response`):

* the operation (method + path template) must exist in the description;
* a status the operation declares is checked against that response: a declared body schema must
  match the JSON body, a 1xx-3xx response declared without content must have an empty body (a
  4xx/5xx one declared without content gets the "Basic Error" schema), and declared
  headers (``Link``, ``Location``...) must be strings when present (``Location`` must be present);
* a 4xx/5xx status the operation does not declare (GitHub documents only some of the errors it
  sends: 403 on a read-only token, 404 on a deleted comment, 5xx...) is checked against GitHub's
  generic "Basic Error" schema;
* an undeclared 1xx/2xx/3xx status is an error;
* a custom media type's body is checked against its own schema when the operation has one
  (``application/vnd.github.object``); a ``raw`` body (``Accept: application/vnd.github.raw``: the
  file's bytes) is not checked, the description does not describe it (its status and headers are).

Two readings are relaxed where the description contradicts what GitHub sends: ``null`` passes a
``nullable`` ``enum`` that omits it, and ``oneOf`` is read as ``anyOf`` (overlapping alternatives).
Request bodies are checked too, but only as warnings (``FakeGitHub.request_warnings``): PyGithub
sends shapes GitHub accepts that the description does not list (a bare array to add labels).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import _keywords  # type: ignore[import-untyped, unused-ignore]
from jsonschema.exceptions import best_match  # type: ignore[import-untyped, unused-ignore]
from jsonschema.validators import extend  # type: ignore[import-untyped, unused-ignore]
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator, oas30_format_checker
from openapi_schema_validator import _keywords as oas_keywords

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# GitHub's generic error body, used for error statuses an operation does not declare.
BASIC_ERROR_SOURCE = ("get", "/repos/{owner}/{repo}", "404")


def _nullable_enum(validator: Any, enums: Any, instance: Any, schema: Mapping[str, Any]) -> Any:
    """``enum`` that lets ``null`` through when the schema is ``nullable``.

    GitHub's description writes ``{"type": "string", "nullable": true, "enum": [...]}`` without
    ``null`` in the enum (e.g. ``issue.state_reason``) and its API sends ``null`` there; a strict
    OpenAPI 3.0.3 reading would reject every open issue GitHub returns.
    """
    if instance is None and schema.get("nullable") is True:
        return
    yield from _keywords.enum(validator, enums, instance, schema)


def _one_of_as_any_of(validator: Any, one_of: Any, instance: Any, schema: Mapping[str, Any]) -> Any:
    """``oneOf`` read as ``anyOf``.

    GitHub's description uses ``oneOf`` for alternatives that overlap (e.g. the 409 of
    ``PUT /contents/{path}``: "Basic Error" or "rule violation", two objects with no required
    properties, so every body matches both and a strict ``oneOf`` rejects them all).  A response
    must still match at least one alternative.
    """
    yield from oas_keywords.anyOf(validator, one_of, instance, schema)


_RELAXED = {"enum": _nullable_enum, "oneOf": _one_of_as_any_of}
ResponseValidator = extend(OAS30ReadValidator, _RELAXED)
RequestValidator = extend(OAS30WriteValidator, _RELAXED)


@dataclass(frozen=True)
class ResponseCheck:
    """What the description says about one (operation, status)."""

    declared: bool
    schema: Mapping[str, Any] | None
    headers: Mapping[str, Any]


class OpenAPISpec:
    """GitHub's REST description, reduced to the operations we care about, with cached validators."""

    def __init__(self, paths: Mapping[str, Mapping[str, Any]], version: str, source: str) -> None:
        self.paths = paths
        self.version = version
        self.source = source
        self._lock = threading.Lock()
        self._response_validators: dict[tuple[str, str, str, str | None], Any] = {}
        self._request_validators: dict[tuple[str, str], Any] = {}
        src_method, src_path, src_status = BASIC_ERROR_SOURCE
        self._basic_error_schema = self._content_schema(
            self.paths[src_path][src_method]["responses"][src_status]
        )

    @classmethod
    def load(cls, path: Path, keep_paths: Iterable[str] | None = None) -> OpenAPISpec:
        """Parse the deref JSON; keep only ``keep_paths`` (path templates) to save memory."""
        with path.open("rb") as fh:
            doc = json.load(fh)
        all_paths: dict[str, Any] = doc["paths"]
        wanted = set(keep_paths) if keep_paths is not None else set(all_paths)
        wanted.add(BASIC_ERROR_SOURCE[1])
        missing = sorted(p for p in wanted if p not in all_paths)
        if missing:
            raise KeyError(f"paths not in {path.name}: {missing}")
        paths = {p: all_paths[p] for p in wanted}
        version = str(doc.get("info", {}).get("version", "?"))
        del doc, all_paths
        return cls(paths, version, str(path))

    # -- lookup -----------------------------------------------------------------------------------

    def operation(self, method: str, template: str) -> Mapping[str, Any]:
        try:
            return self.paths[template][method.lower()]  # type: ignore[no-any-return]
        except KeyError:
            raise KeyError(f"{method.upper()} {template} is not in GitHub's OpenAPI description") from None

    def has_operation(self, method: str, template: str) -> bool:
        return method.lower() in self.paths.get(template, {})

    @staticmethod
    def _content_schema(response: Mapping[str, Any], media: str | None = None) -> Mapping[str, Any] | None:
        content = response.get("content") or {}
        preferred = (f"application/vnd.github.{media}",) if media else ()
        for ctype in (*preferred, "application/json", *content):
            if ctype in content and "schema" in content[ctype]:
                return content[ctype]["schema"]  # type: ignore[no-any-return]
        return None

    def response_check(
        self, method: str, template: str, status: int, media: str | None = None
    ) -> ResponseCheck:
        responses = self.operation(method, template)["responses"]
        response = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
        if response is None:
            if status >= 400:
                return ResponseCheck(False, self._basic_error_schema, {})
            return ResponseCheck(False, None, {})
        schema = self._content_schema(response, media)
        if schema is None and status >= 400:
            # e.g. DELETE /git/refs 422 is declared without content, yet GitHub sends its error body
            schema = self._basic_error_schema
        return ResponseCheck(True, schema, response.get("headers") or {})

    # -- validators -------------------------------------------------------------------------------

    def _response_validator(self, method: str, template: str, status: int, media: str | None) -> Any:
        key = (method.lower(), template, str(status), media)
        with self._lock:
            if key not in self._response_validators:
                check = self.response_check(method, template, status, media)
                self._response_validators[key] = (
                    ResponseValidator(dict(check.schema), format_checker=oas30_format_checker)
                    if check.schema is not None
                    else None
                )
            return self._response_validators[key]

    def _request_validator(self, method: str, template: str) -> Any:
        key = (method.lower(), template)
        with self._lock:
            if key not in self._request_validators:
                body = self.operation(method, template).get("requestBody") or {}
                schema = self._content_schema(body)
                self._request_validators[key] = (
                    RequestValidator(dict(schema), format_checker=oas30_format_checker)
                    if schema is not None
                    else None
                )
            return self._request_validators[key]

    @staticmethod
    def _describe(errors: list[Any]) -> list[str]:
        """Short, readable problems; a failed oneOf/anyOf shows the errors of its closest branch."""

        def leaves(err: Any) -> list[Any]:
            if not err.context:
                return [err]
            branches: dict[Any, list[Any]] = {}
            for sub in err.context:
                branches.setdefault(sub.schema_path[0] if sub.schema_path else 0, []).append(sub)
            # the closest branch: the instance has its type, then the fewest errors
            closest = min(
                branches.values(),
                key=lambda errs: (
                    any(e.validator == "type" and not e.relative_path for e in errs),
                    len(errs),
                ),
            )
            return [leaf for sub in closest for leaf in leaves(sub)]

        out: list[str] = []
        ranked = sorted(errors, key=lambda e: e is not best_match(errors))
        for err in ranked:
            for leaf in leaves(err):
                msg = leaf.message if len(leaf.message) <= 300 else leaf.message[:300] + "…"
                line = f"{leaf.json_path}: {msg}"
                if line not in out:
                    out.append(line)
        return out[:10]

    def validate_response(
        self,
        method: str,
        template: str,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        *,
        media: str | None = None,
    ) -> list[str]:
        """Return the problems of one response (empty list: valid).

        ``media`` is the custom media type answered (``x-github-media-type: github.v3; param=object``):
        its own schema when the operation describes one (``application/vnd.github.object``); a
        ``raw`` body is not checked, only the status and headers.
        """
        problems: list[str] = []
        check = self.response_check(method, template, status)
        if not check.declared and status < 400:
            return [f"status {status} is not declared for {method.upper()} {template}"]
        lower_headers = {k.lower(): v for k, v in headers.items()}
        for name, spec in check.headers.items():
            value = lower_headers.get(name.lower())
            if value is None:
                if name.lower() == "location" and status == 201:
                    problems.append("declared header Location is missing")
                continue
            if (spec.get("schema") or {}).get("type") == "string" and not isinstance(value, str):
                problems.append(f"header {name} is not a string")
        if media == "raw":
            return problems  # the file's bytes: the description does not describe them
        validator = self._response_validator(method, template, status, media)
        if validator is None:
            if body.strip():
                problems.append(f"status {status} declares no body but {len(body)} bytes were sent")
            return problems
        try:
            payload = json.loads(body)
        except ValueError as exc:
            return [*problems, f"body is not JSON: {exc}"]
        errors = list(validator.iter_errors(payload))
        if errors:
            problems.extend(self._describe(errors))
        return problems

    def validate_request(self, method: str, template: str, body: Any) -> list[str]:
        """Problems of a JSON request body against the operation's requestBody schema."""
        validator = self._request_validator(method, template)
        if validator is None:
            return []
        return self._describe(list(validator.iter_errors(body)))
