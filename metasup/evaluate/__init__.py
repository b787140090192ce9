"""Pure evaluation: the loaded artifacts and ``as_of`` in, a ``Review`` out (SPEC §3).

``reconcile`` (+ ``price_join``) joins signals to prices; ``metrics`` (+ ``cells``, ``row_facts``,
``windows``, ``regimes``, ``groups``, ``columns``) computes §3.2; ``skill`` (+ ``skill_stats``) the
evidence of skill of §3.7; ``promotion``, ``retirement``, ``demotion`` and ``portfolio`` decide;
``findings`` explains; ``supervisor`` runs them in the spec's order.

May import: ``metasup.model`` only (never ``ingest``, ``github``, the shell, SMTP, the clock or
the environment). Door: ``supervisor.run_meta_supervisor`` (and ``supervise``, which also hands
back the reconciliation for the LP report), ``reconcile.reconcile``.
"""
