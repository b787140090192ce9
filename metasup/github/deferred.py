"""PyGithub without the cryptography a token never uses, loaded only if someone does use it.

Importing PyGithub's package imports PyJWT (``github.Auth``, which signs GitHub App tokens) and,
through it, cryptography; and PyNaCl (``github.PublicKey``, which encrypts repository secrets).
metasup authenticates with a token and never encrypts a secret, yet those imports were about
35 ms of a review's start in the container (#15; docs/performance.md, "Start-up"). While
``github`` is imported, :func:`loaded_on_first_use` binds the named modules with the standard
library's ``importlib.util.LazyLoader``: each is in ``sys.modules`` at once and runs its code on
the first attribute anyone reads. A caller that uses them notices nothing (``jwt.encode`` loads
PyJWT then); a module imported before, or outside the block, is imported as usual.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType

UNUSED_WITH_A_TOKEN = frozenset({"jwt", "nacl.encoding", "nacl.public"})
"""What PyGithub imports for App authentication and secret encryption; metasup does neither."""


class _LazyFinder(importlib.abc.MetaPathFinder):
    """Finds the named modules the way the other finders would, then defers running them."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.names:
            return None
        spec = self._spec_from_the_others(fullname, path, target)
        if spec is None or not isinstance(spec.loader, importlib.abc.Loader):
            return spec
        if not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec

    def _spec_from_the_others(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None
    ) -> importlib.machinery.ModuleSpec | None:
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            if finder is self or find_spec is None:
                continue
            spec = find_spec(fullname, path, target)
            if isinstance(spec, importlib.machinery.ModuleSpec):
                return spec
        return None


@contextmanager
def loaded_on_first_use(names: frozenset[str] = UNUSED_WITH_A_TOKEN) -> Iterator[None]:
    """Within the block, importing one of ``names`` binds it without running it yet."""
    finder = _LazyFinder(names)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
