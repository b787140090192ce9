"""metasup — the MarketAgents Meta-Supervisor.

Pure computation lives in ``reconcile``, ``metrics``, ``promotion``, ``retirement``,
``portfolio``, ``findings`` and ``supervisor``; files, GitHub, SMTP, clock and environment stay
in ``artifacts``/``config``/``registry`` (loading), ``github_io``, ``action``, ``cli`` and
``lp_report``.
"""

__version__ = "0.1.0"
