"""The render wing: every markdown body and the one Jinja2 environment and filter set (SPEC §1).

Pure: review values in, text out. Imports only ``metasup.model`` and itself — never ingest,
github, rolling, lp or the shell; callers hand it plain values (a rolling outcome is the
``bodies.RollingSummary`` protocol). Templates are package data in ``render/templates/``.

Door: ``comment.render_comment`` / ``load_template`` / ``MARKER``, ``bodies.render_stage_change_body``
/ ``render_retirement_body`` / ``render_dashboard`` / ``render_rolling_summary`` /
``DASHBOARD_MARKER``, ``environment.package_template`` (the LP e-mail's bodies), and
``filters`` (``ellipsize``, ``usd_short`` for the LP charts and report).
"""
