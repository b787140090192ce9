"""Pure evaluation: reconcile, metrics, skill, decisions (placeholder; filled by the move)."""
