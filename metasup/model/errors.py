"""Exceptions raised by metasup.

The tree, so callers can catch at the right depth::

    MetasupError
     ├── InputError            bad input from the user: exit code 2, nothing written
     │    ├── ConfigError      metasup.yml or agents.yaml failed validation
     │    └── ArtifactError    an artifact file is missing, unreadable or of the wrong format
     ├── ledger.LedgerError    the audit ledger cannot be used
     │    └── LedgerCorrupt    its hash chain is broken (CRITICAL: the run writes nothing)
     ├── registry_edit.RegistryEditError   agents.yaml cannot be edited safely
     └── lp_report.EmailError  the LP e-mail could not be sent

Core modules raise these; only ``cli`` and ``action`` turn them into one ``Error: …`` line and
an exit code, so no user ever sees a traceback for a mistake in their own files.
"""

from __future__ import annotations


class MetasupError(Exception):
    """Base of every error metasup raises on purpose."""


class InputError(MetasupError):
    """The user's input cannot be used; the message says which file and what to fix."""

    exit_code = 2


class ConfigError(InputError):
    """A configuration or registry file failed validation."""


class ArtifactError(InputError):
    """An artifact file is missing, unreadable or not in a supported format."""
