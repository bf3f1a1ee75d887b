"""What is wrong with a proposed dialplan: one :class:`Problem` per fault, naming the
template and its line, in English (the CLI, the logs) and in Spanish (the console)."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Problem:
    template: str
    """The template (``vb-ack``, ``_room``, ``parameters``...) the fault is in."""
    line: int | None
    """Its line in that template (None: the whole template, or not known)."""
    en: str
    es: str

    def where(self) -> str:
        return self.template if self.line is None else f"{self.template}, line {self.line}"

    def donde(self) -> str:
        return self.template if self.line is None else f"{self.template}, línea {self.line}"

    def __str__(self) -> str:
        return f"{self.where()}: {self.en}"

    def json(self) -> dict[str, Any]:
        return {"template": self.template, "line": self.line, "message": self.es, "en": self.en}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Problem":
        line = data.get("line")
        return cls(
            template=str(data["template"]),
            line=line if isinstance(line, int) else None,
            en=str(data["en"]),
            es=str(data["message"]),
        )
