"""The rolling wing: the scheduled run that supervises the fleet (SPEC §5).

Pure side (data and ``now``/``as_of`` in, values out; no GitHub, clock, environment or SMTP):
``plan`` (PR lifecycle, vetoes), ``kills`` (kills in force), ``dashboard`` (the dashboard's values),
``audit_records`` and ``audit_ledger`` (the hash-chained audit ledger), ``audit_anchor`` (its
``Ledger-Head`` anchors), ``ownership`` (which PRs are metasup's), ``registry_edit``
(agents.yaml edits that keep comments). These import ``model/`` and ``evaluate/`` only.

Shell side: ``run`` (the run, in order), ``execute`` (a plan's PR actions), ``state`` (the state
branch), ``lp_email`` (the LP e-mail step), ``context`` (what a run is given and reports). These
also import ``github/``, ``lp/``, ``render/``, ``runner`` and ``baseline``.

Door — the names other wings use: ``run.run_rolling``, ``context.RollingContext``,
``context.RollingOutcome``, ``run.registry_path_in_repo``, ``state_layout.STATE_BRANCH``,
``state_layout.snapshot_path`` and ``audit_ledger.parse_ledger``/``verify_ledger`` (the CLI). The pull
requests it plans from are ``model.pulls.PullState`` values, built by ``github/``. Nothing is
imported here: importing one module of the wing never pulls in the shell.
"""
