"""metasup — the MarketAgents Meta-Supervisor.

The package is grouped by the way data flows through a run (SPEC §1): ``ingest`` (files →
validated frames) → ``evaluate`` (pure: reconcile, metrics, skill, decisions → a ``Review``) →
``render`` (markdown bodies) / ``lp`` (LP report and e-mail) / ``rolling`` (the scheduled run) /
``github`` (every GitHub call). ``model`` holds what every wing shares. The shell on top —
``cli``, ``action``, ``runner``, ``baseline``, ``runtime`` — reads files, the clock and the
environment and hands plain values to the pure wings. ``pyproject.toml`` (import-linter) holds
these rules.
"""

__version__ = "0.1.0"
