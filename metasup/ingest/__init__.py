"""Ingest: artifact files → validated frames (SPEC §2, §2.6; ``data_quality`` of §4.1).

Reads the signal, telemetry and price files a config names and returns
:class:`~metasup.model.artifacts.Artifacts`: the frames, and an account of every line (accepted,
rejected with file, line and reason, or ignored). ``load`` ties the modules together; its docstring
lists them and the decisions taken where the SPEC is silent.

May import: ``metasup.model`` only, plus numpy, pandas, pyarrow and the standard library (no other
wing, no network, no clock).

The door: :func:`load_artifacts` and :data:`Progress` (its callback type), and :func:`source_files`
(which files a configured path names — a file, a folder, hive partitions, a glob — for the action's
workspace check), and :func:`why_no_price_bars` (the message when ``as_of`` must come from price bars
and none was accepted); nothing else is public.
"""

from metasup.ingest.empty_prices import why_no_price_bars
from metasup.ingest.load import Progress, load_artifacts
from metasup.ingest.parquet_sources import source_files

__all__ = ["Progress", "load_artifacts", "source_files", "why_no_price_bars"]
