"""The LP wing (SPEC §6): what limited partners receive — statistics, report values, the e-mail, SMTP.

Modules, from pure to I/O: ``statistics`` (the fund's calendar, the daily return series and
empyrical's statistics on it) and ``report`` (the :class:`LpReport` values) are pure and import
only ``metasup.model``, ``metasup.render`` and each other; ``charts`` (the only matplotlib
import) and ``email`` (subject, text, HTML, MIME) render; ``smtp`` sends, with credentials from
the environment mapping its caller passes in.

Door: ``report.build_lp_report``, ``statistics.due_period`` / ``last_complete_period``,
``charts.render_charts``, ``email.build_message`` / ``preview_html``,
``smtp.filter_recipients`` / ``send_report`` / ``EmailError``.
"""
