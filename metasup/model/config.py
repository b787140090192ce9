"""``metasup.yml`` → frozen pydantic models.

Every threshold of SPEC §2.5 has its default here and nowhere else. Unknown keys are an error
(``extra="forbid"``): a typo such as ``min_behavioural_score`` must not silently fall back to
the default and promote an agent the user meant to hold back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from metasup.model.errors import ConfigError
from metasup.model.limits import MAX_DURATION_SECONDS, MAX_TRIALS, MAX_USD, MAX_YEARS
from metasup.model.validation_errors import describe_validation_error
from metasup.model.yaml_files import DataPath, read_yaml_document

UNIT_SECONDS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
"""Seconds per duration unit; the one table behind every duration (config and signal horizons)."""

DURATION_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_duration(value: object) -> timedelta:
    """Read ``"30m"``, ``"4h"``, ``"1d"``, ``"2w"`` or a number of seconds.

    >>> parse_duration("4h")
    datetime.timedelta(seconds=14400)
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        seconds = float(value)
    elif isinstance(value, str) and (match := DURATION_PATTERN.match(value)):
        seconds = float(match.group(1)) * UNIT_SECONDS[match.group(2)]
    else:
        raise ValueError(f"not a duration: {value!r} (use e.g. 30m, 4h, 1d, 2w or seconds)")
    if not seconds > 0:
        raise ValueError(f"a duration must be positive, got {value!r}")
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError(f"a duration must be at most {MAX_YEARS} years, got {value!r}")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def duration_text(value: timedelta) -> str:
    """A duration as a user writes it in metasup.yml: the largest unit that divides it (``7d``,
    ``36h``, ``90s``), not Python's ``7 days, 0:00:00``."""
    seconds = value.total_seconds()
    for unit in "dhm":  # not weeks: "14d" reads better than "2w" next to "30d"
        if seconds % UNIT_SECONDS[unit] == 0:
            return f"{int(seconds // UNIT_SECONDS[unit])}{unit}"
    return f"{seconds:.12g}s"


def _takes_numbers_not_booleans(annotation: object) -> bool:
    """Whether a field's type accepts ``int`` or ``float`` but not ``bool`` (unions, ``Annotated``
    and ``Optional`` looked through)."""
    leaves: list[object] = []
    pending = [annotation]
    while pending:
        kind = pending.pop()
        origin = get_origin(kind)
        if origin is Annotated:
            pending.append(get_args(kind)[0])
        elif origin in (Union, UnionType):
            pending.extend(get_args(kind))
        else:
            leaves.append(kind)
    return bool not in leaves and any(leaf in (int, float) for leaf in leaves)


def _openable(path: Path) -> Path:
    """The operating system cannot open a name holding a NUL byte; say so while naming the key.
    A URL carrying credentials (``s3://KEY:SECRET@bucket``) is refused: SPEC §8 takes them from the
    environment only, and a URL is printed in messages and comments."""
    if "\x00" in str(path):
        raise ValueError("a path may not contain a NUL character (\\0)")
    url = artifact_url(path)
    if url is not None and "@" in url.split("//", 1)[1].split("/", 1)[0]:
        raise ValueError(
            "a URL may not carry credentials (user:secret@): give them in the environment "
            "(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, GOOGLE_APPLICATION_CREDENTIALS, AZURE_STORAGE_*)"
        )
    return path


def _named(value: object) -> object:
    """An empty value (a templated config whose variable was unset) would be the config's own
    folder: every file beside metasup.yml read as an artifact, the error naming one of them. A
    URL's key is checked here, before pathlib folds its ``//`` away (:func:`unaddressable_key`)."""
    if isinstance(value, str) and not value.strip():
        raise ValueError("is empty: give a file, a folder, a glob or a URL")
    if isinstance(value, str) and unaddressable_key(value):
        raise ValueError(f"{UNADDRESSABLE}: {value!r}")
    return value


UNADDRESSABLE = (
    "an object key with an empty, '.' or '..' segment cannot be read as a path (metasup would read "
    "another object, or none); rename it"
)


def unaddressable_key(url: str) -> bool:
    """Whether an object-storage URL's key (:data:`OBJECT_STORAGE`) has an empty, ``.`` or ``..``
    segment (``a//b``, ``a/./b``): S3 allows them, a path cannot carry them (an audit: 1,296 of
    1,898 signals were read from other keys or not at all, exit 0). A trailing ``/`` is fine."""
    scheme, separator, key = url.rstrip("/").partition("://")
    if not separator or scheme.lower() not in OBJECT_STORAGE:  # a path, file://, http://: not keys
        return False
    return any(segment in ("", ".", "..") for segment in key.split("/"))


FilePath = Annotated[Path, BeforeValidator(_named), AfterValidator(_openable)]
"""A path in ``metasup.yml``: any name the operating system can open, never empty."""

OBJECT_STORAGE = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"})
"""The URL schemes the action reads artifacts from (object storage, with credentials from the
environment); the CLI takes any fsspec protocol."""


class Section(BaseModel):
    # No inf or NaN: a NaN threshold compares false with everything (every gate would block).
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_yes_for_a_number(cls, value: object, info: ValidationInfo) -> object:
        """``partitions: true`` or ``max_weight: yes`` (YAML's booleans) would be read as 1: a
        number key given a boolean is a mistake, and SPEC §2.5 wants it said, not guessed."""
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, bool) and field is not None and _takes_numbers_not_booleans(field.annotation):
            raise ValueError(f"expected a number, not the boolean {str(value).lower()}")
        return value


class ArtifactsConfig(Section):
    alpha: FilePath
    prices: FilePath
    telemetry: FilePath | None = None


class ReconcileConfig(Section):
    max_delay: Duration = timedelta(days=1)
    fee_bps: float = Field(0.0, ge=0, le=10_000)
    default_notional: float = Field(10_000.0, gt=0, le=MAX_USD)
    max_loss: float = Field(0.35, ge=0, le=1)


class WindowsConfig(Section):
    window: Duration = timedelta(days=30)
    period: Duration = timedelta(days=7)
    stale_after: Duration = timedelta(days=2)
    """``as_of`` this long after the latest price bar is a HIGH finding ("prices end at …")."""

    @model_validator(mode="after")
    def _period_inside_window(self) -> WindowsConfig:
        if self.period >= self.window:
            raise ValueError(
                f"period ({duration_text(self.period)}) must be shorter than window "
                f"({duration_text(self.window)}): "
                "cost_drift compares the last period with the rest of the window"
            )
        return self


class PromotionConfig(Section):
    min_behavioral_score: float = 80.0
    min_realized_pnl: float = 0.0
    max_confidence_decay: float = 0.2
    max_cost_drift: float = 0.25
    min_realized_signals: int = Field(20, ge=0)
    min_decay_signals: int = Field(10, ge=1)
    # Evidence of skill (SPEC §3.7): the gates must not promote luck.
    track_record: Duration = timedelta(days=180)
    min_psr: float = Field(0.95, gt=0, lt=1)
    skill_test: Literal["psr", "dsr"] = "psr"
    min_skill_days: int = Field(10, ge=2)
    max_prod_correlation: float = Field(0.7, ge=-1, le=1)
    trials: int | None = Field(None, ge=1, le=MAX_TRIALS)


class DemotionConfig(Section):
    """SPEC §3.8: demote a prod agent when its skill series says, with 1 − max_psr confidence, that its
    edge is negative."""

    window: Duration = timedelta(days=60)
    max_psr: float = Field(0.10, gt=0, lt=1)


class RetirementConfig(Section):
    min_rules: int = Field(2, ge=1, le=4)
    alpha_negative_periods: int = Field(3, ge=1, le=4)
    confidence_decay_threshold: float = 0.3
    regime_mismatch_periods: int = Field(2, ge=1, le=4)
    mismatch_share: float = Field(0.5, gt=0, le=1)


class PortfolioConfig(Section):
    capital: float = Field(1_000_000.0, gt=0)
    temperature: float = Field(1.0, gt=0)
    vol_floor: float = Field(0.005, gt=0)
    min_weight: float = Field(0.0, ge=0, le=1)
    max_weight: float = Field(1.0, gt=0, le=1)
    min_signals: int = Field(5, ge=2)

    @model_validator(mode="after")
    def _caps_are_ordered(self) -> PortfolioConfig:
        if self.min_weight > self.max_weight:
            raise ValueError(f"min_weight {self.min_weight} is above max_weight {self.max_weight}")
        return self


class PromotionPRConfig(Section):
    auto_merge_after_hours: float | None = Field(24.0, ge=0, le=MAX_YEARS * 366 * 24)
    veto_cooldown_days: float = Field(30.0, ge=0, le=MAX_YEARS * 366)
    max_new_per_run: int | None = Field(10, ge=1)
    """New PRs one rolling run opens at most (retirements first, then demotions, then promotions;
    none = no limit): a first run on a big fleet would otherwise open hundreds at once, past
    ``GITHUB_TOKEN``'s 1,000 requests an hour and GitHub's limits on content creation."""


class SmtpConfig(Section):
    host: str | None = None
    port: int = Field(587, gt=0, lt=65536)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username_env: str = "SMTP_USERNAME"
    password_env: str = "SMTP_PASSWORD"
    timeout_seconds: float = Field(30.0, gt=0)


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SENDER = re.compile(r'^(?:(?:"[^"\\]*"\s*|[^<>@,;:"]*)<)?[^\s<>@,;:"]+@[^\s<>@,;:"]+>?$')
"""One address, bare or with a display name; a name holding ``,`` ``;`` or ``:`` must be quoted
(``"Acme Capital, LLC" <lp@fund.example>``): unquoted, the From header names two mailboxes."""
ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
"""RFC 2047's ``=?utf-8?q?…?=``: Python's e-mail headers decode it, so ``=0D=0A`` inside it is a
line break in the written header — ``Reply-To: ir@evil.example`` under the LP's Subject."""


def _one_line(value: str | None) -> str | None:
    """``fund_name`` is the e-mail's Subject: a line break there would end the header early."""
    if value is not None and _CONTROL_CHARACTERS.search(value):
        raise ValueError("must be one line of text, without control characters")
    if value is not None and ENCODED_WORD.search(value):
        raise ValueError(
            "holds an encoded word (=?charset?q?…?=), which mail clients decode: write the text itself"
        )
    return value


def _sender(value: str | None) -> str | None:
    """``from``: ``a@b.example`` or ``Name <a@b.example>``, one line (it becomes the From header)."""
    if value is not None and (
        _CONTROL_CHARACTERS.search(value) or ENCODED_WORD.search(value) or not _SENDER.match(value.strip())
    ):
        raise ValueError(
            f"not one e-mail address: {value!r} (use a@b.example, Name <a@b.example>, or "
            '"Name, with a comma" <a@b.example>)'
        )
    return value


class EmailConfig(Section):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, populate_by_name=True)

    cadence: Literal["daily", "weekly"] = "weekly"
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    sender: Annotated[str | None, AfterValidator(_sender)] = Field(None, alias="from")
    to: list[str] = Field(default_factory=list)
    whitelist: list[str] = Field(default_factory=list)
    risk_free_rate: float = 0.0
    fund_name: Annotated[str | None, AfterValidator(_one_line)] = None
    min_history_days: int = Field(60, ge=0)
    smtp: SmtpConfig = SmtpConfig()


class EngineConfig(Section):
    """Where a review runs (SPEC §8): the embedded ``local`` engine or a Dask cluster.

    ``address`` is a scheduler (``tcp://host:8786``); none with ``kind: dask`` starts a local cluster
    sized to the machine. ``partitions``: how many symbol partitions (``auto``: twice the workers,
    or more so that none holds over a million signals: ``engine.partitions.auto_partitions``).
    """

    kind: Literal["local", "dask"] = "local"
    address: str | None = None
    partitions: Literal["auto"] | Annotated[int, Field(gt=0)] = "auto"


class Config(Section):
    """The whole of ``metasup.yml``; relative paths are already resolved against its folder."""

    base: str = "main"
    registry: FilePath = Path("agents.yaml")
    artifacts: ArtifactsConfig
    benchmark: str | None = None
    reconcile: ReconcileConfig = ReconcileConfig()
    windows: WindowsConfig = WindowsConfig()
    promotion: PromotionConfig = PromotionConfig()
    demotion: DemotionConfig = DemotionConfig()
    retirement: RetirementConfig = RetirementConfig()
    portfolio: PortfolioConfig = PortfolioConfig()
    kill_list: list[str] = Field(default_factory=list)
    comment_template: FilePath | None = None
    promotion_prs: PromotionPRConfig = PromotionPRConfig()
    email: EmailConfig = EmailConfig()
    engine: EngineConfig = EngineConfig()


def config_from_mapping(
    data: Mapping[str, Any],
    root: Path,
    source: str = "metasup.yml",
    lines: Mapping[DataPath, int] | None = None,
) -> Config:
    """Validate ``data`` and resolve every relative path against ``root``; ``lines`` (of
    :func:`~metasup.model.yaml_files.read_yaml_document`) let an error name the line of its key."""
    try:
        config = Config.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(source, exc, Config, data, lines)) from None
    artifacts = config.artifacts.model_copy(
        update={
            "alpha": _under(root, config.artifacts.alpha),
            "prices": _under(root, config.artifacts.prices),
            "telemetry": None
            if config.artifacts.telemetry is None
            else _under(root, config.artifacts.telemetry),
        }
    )
    template = None if config.comment_template is None else root / config.comment_template
    return config.model_copy(
        update={"registry": root / config.registry, "artifacts": artifacts, "comment_template": template}
    )


_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:$")


def artifact_url(path: Path) -> str | None:
    """``s3://bucket/key`` when ``path`` names object storage (pathlib keeps it as ``s3:/bucket/key``)."""
    parts = path.parts
    if len(parts) > 1 and _URL_SCHEME.match(parts[0]):
        return f"{parts[0]}//{'/'.join(parts[1:])}"
    return None


def local_inputs(config: Config) -> list[Path]:
    """The local paths (files, folders, globs) a run reads besides the config file; URLs are
    nowhere near an output."""
    paths = [config.registry, config.artifacts.alpha, config.artifacts.prices]
    paths += [p for p in (config.artifacts.telemetry, config.comment_template) if p is not None]
    return [p for p in paths if artifact_url(p) is None]


def _under(root: Path, path: Path) -> Path:
    """``path`` relative to the config's folder, unless it is a URL (``s3://…``): that stays as is."""
    return path if artifact_url(path) is not None else root / path


def load_config(path: Path) -> Config:
    """Load ``metasup.yml``; paths inside it are relative to its own folder."""
    document = read_yaml_document(path)
    return config_from_mapping(document.data, path.resolve().parent, str(path), document.lines)
