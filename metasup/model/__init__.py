"""The models every wing shares: config, registry, review, artifacts (the loaded frames), errors.

May import: nothing of metasup but ``model`` itself (pydantic, pandas). Door: ``config.Config``
and ``load_config``, ``registry.Registry`` and ``load_registry``, ``review.Review`` and its parts,
``artifacts.Artifacts`` and ``artifacts.until`` (the one ``as_of`` cut), ``timestamps.utc`` (the
one UTC normaliser), ``errors.MetasupError`` and its subclasses, ``validation_errors.validation_problems``
(pydantic's errors in the words of the user's file).
"""
