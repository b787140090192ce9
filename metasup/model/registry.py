"""``agents.yaml``: the registry of agents and strategy classes, the source of truth for stages.

Stages change only when a person edits this file (or merges a metasup PR that edits it);
metasup reads it, never writes it in place.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from metasup.model.errors import ConfigError
from metasup.model.review import CLASS_SUBJECT_PREFIX
from metasup.model.validation_errors import describe_validation_error
from metasup.model.yaml_files import read_yaml_document

Stage = Literal["sandbox", "prod", "retired"]
ClassStatus = Literal["active", "deprecated", "killed"]

UNCLASSIFIED = "unclassified"
"""Class of an agent that neither the registry nor its signals assign to a strategy class."""


class StrategyClass(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    status: ClassStatus = "active"
    regimes: list[str] = Field(default_factory=list)
    kill_reason: str | None = None


class Agent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    strategy_class: str | None = None
    stage: Stage = "sandbox"
    regimes: list[str] = Field(default_factory=list)
    kill_reason: str | None = None

    @field_validator("name")
    @classmethod
    def _not_a_class_subject(cls, name: str) -> str:
        """Kills, the ledger and retire branches name a class ``class:<name>``; an agent named so
        was taken for the class, and its [AUTO-RETIRE] PR would have killed the whole class."""
        if name.startswith(CLASS_SUBJECT_PREFIX):
            raise ValueError(
                f"an agent's name cannot start with {CLASS_SUBJECT_PREFIX!r} (metasup names classes so)"
            )
        return name


class Registry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    strategy_classes: list[StrategyClass] = Field(default_factory=list)
    agents: list[Agent] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names_are_unique_and_classes_exist(self) -> Registry:
        class_names = [c.name for c in self.strategy_classes]
        agent_names = [a.name for a in self.agents]
        for kind, names in (("strategy_classes", class_names), ("agents", agent_names)):
            repeated = sorted(name for name, count in Counter(names).items() if count > 1)
            if repeated:
                raise ValueError(f"{kind}: names must be unique, repeated: {', '.join(repeated)}")
        for agent in self.agents:
            if agent.strategy_class is not None and agent.strategy_class not in self.classes_by_name:
                raise ValueError(
                    f"agent {agent.name!r}: strategy_class {agent.strategy_class!r} is not declared "
                    f"(declared: {', '.join(class_names) or 'none'})"
                )
        return self

    # Looked up once per agent by the evaluation and the rolling plan: a scan of the list each time
    # made a 20,000-agent registry take 30 s (``docs/performance.md``, "Reading agents.yaml"). Each
    # index is kept in ``__dict__`` beside the list it was built from (equality ignores it), and is
    # built again for another list: ``model_copy(update={"agents": …})`` copies ``__dict__``.
    @property
    def agents_by_name(self) -> dict[str, Agent]:
        return self._indexed("agents", self.agents)

    @property
    def classes_by_name(self) -> dict[str, StrategyClass]:
        return self._indexed("strategy_classes", self.strategy_classes)

    def _indexed(self, field: str, entries: list[Any]) -> dict[str, Any]:
        kept = self.__dict__.get(f"_index_of_{field}")
        if kept is None or kept[0] is not entries:
            kept = self.__dict__[f"_index_of_{field}"] = (entries, {entry.name: entry for entry in entries})
        index: dict[str, Any] = kept[1]
        return index

    def agent(self, name: str) -> Agent | None:
        return self.agents_by_name.get(name)

    def strategy_class(self, name: str) -> StrategyClass | None:
        return self.classes_by_name.get(name)

    def declared_regimes(self, agent_name: str) -> list[str]:
        """The agent's own regimes, else its class's; empty means fit for any regime."""
        agent = self.agent(agent_name)
        if agent is None:
            return []
        if agent.regimes:
            return list(agent.regimes)
        klass = self.strategy_class(agent.strategy_class) if agent.strategy_class else None
        return list(klass.regimes) if klass else []


def load_registry(path: Path) -> Registry:
    """Read ``agents.yaml``; an error names each bad entry by its ``name:`` and line."""
    try:
        document = read_yaml_document(path)
    except ConfigError:
        if path.exists() or path.is_symlink():
            raise
        raise ConfigError(  # "file not found" alone did not say which file this is (a newcomer's audit)
            f"{path}: file not found: the agents' registry (set `registry:` in metasup.yml; "
            "default agents.yaml beside it)"
        ) from None
    try:
        return Registry.model_validate(document.data)
    except ValidationError as exc:
        message = describe_validation_error(str(path), exc, Registry, document.data, document.lines)
        raise ConfigError(message) from None
