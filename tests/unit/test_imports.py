"""Start-up: what importing the action and the command loads (SPEC §4.3, "The image starts fast").

Behaviour, not timing: each check runs in a fresh interpreter and reads ``sys.modules``. The
timings are in docs/performance.md ("Image and start-up").
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY_FOR_REVIEW = ("matplotlib", "smtplib", "PIL", "fontTools")
"""Only rolling mode (the LP e-mail) and the drawing commands use these."""


def loaded_after(statement: str, names: tuple[str, ...]) -> list[str]:
    report = f"print(json.dumps([n for n in {list(names)!r} if n in sys.modules]))"
    code = f"import json, sys\n{statement}\n{report}"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("module", ["metasup.action", "metasup.cli"])
def test_import__no_charts_or_smtp_at_start(module: str) -> None:
    assert loaded_after(f"import {module}", HEAVY_FOR_REVIEW) == []


def test_import__entrypoint_module_loads_no_charts_or_smtp() -> None:
    statement = "import runpy; runpy.run_path('entrypoint.py', run_name='not_main')"
    assert loaded_after(statement, HEAVY_FOR_REVIEW) == []


def test_import__rolling_mode_still_reaches_the_lp_email() -> None:
    """The lazy import is only deferred: rolling mode's modules import and bring matplotlib and SMTP."""
    statement = "import metasup.action\nfrom metasup.rolling.run import run_rolling"
    assert loaded_after(statement, ("matplotlib", "smtplib")) == ["matplotlib", "smtplib"]


def test_entrypoint__the_collector_is_back_on_for_the_run_with_the_imports_frozen() -> None:
    """The entrypoint imports with the cyclic collector off (start-up); the run itself collects."""
    statement = (
        "import gc, runpy\nrunpy.run_path('entrypoint.py', run_name='not_main')['import_action']()\n"
        "print(json.dumps([gc.isenabled(), gc.get_freeze_count() > 100_000]))"
    )
    code = f"import json\n{statement}"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [True, True]


UNUSED_WITH_A_TOKEN = ("jwt.api_jwt", "cryptography", "nacl.bindings")
"""Run by PyGithub's App authentication and secret encryption, which a token-authenticated run skips."""


def test_import__a_review_does_not_run_pygithubs_app_auth_or_secret_crypto() -> None:
    assert loaded_after("import metasup.action", UNUSED_WITH_A_TOKEN) == []


def test_import__pygithubs_app_auth_and_secret_encryption_still_work_after_the_action_imported() -> None:
    """Deferred, not removed: PyGithub signs an App JWT and seals a secret as it would have."""
    code = """
import json, sys
import metasup.action
from github import Auth, PublicKey
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives import serialization
import jwt
from nacl.public import PrivateKey, SealedBox
from nacl.encoding import Base64Encoder

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pem = key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
token = Auth.AppAuth(4242, pem).create_jwt()
claims = jwt.decode(token, key.public_key(), algorithms=["RS256"])
receiver = PrivateKey.generate()
sealed = PublicKey.encrypt(receiver.public_key.encode(Base64Encoder).decode(), "s3cret")
opened = SealedBox(receiver).decrypt(sealed.encode(), encoder=Base64Encoder).decode()
print(json.dumps([claims["iss"], opened]))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["4242", "s3cret"]


def test_import__a_review_reads_its_baseline_without_the_rolling_machinery() -> None:
    """Review mode needs the state branch's file names only, not the ledger or the PR lifecycles."""
    rolling_only = ("metasup.rolling.audit_ledger", "metasup.rolling.lifecycle", "metasup.rolling.run")
    assert loaded_after("import metasup.action", rolling_only) == []
