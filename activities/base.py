"""How a robot is declared: its registration (``bizproc.robot.add``) next to its operation.

The installer registers whatever :data:`activities.ALL` holds, so adding a module there is all it takes to
ship a robot. Property values arrive as Bitrix24 sends them (``Y``/``N``, ``user_12``, ``DD.MM.YYYY`` or ISO
dates, numbers as strings): :mod:`activities.props` turns them into Python values with clear errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from b24goods.robot import RobotContext


@dataclass(frozen=True)
class Prop:
    ru: str
    en: str
    type: str = "string"  # bool, date, datetime, double, int, select, string, text, user
    required: bool = False
    multiple: bool = False
    default: Any = None
    options: dict[str, str] | None = None
    description_ru: str | None = None

    def registration(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Name": {"ru": self.ru, "en": self.en}, "Type": self.type,
                               "Required": "Y" if self.required else "N",
                               "Multiple": "Y" if self.multiple else "N"}
        if self.default is not None:
            out["Default"] = self.default
        if self.options:
            out["Options"] = self.options
        if self.description_ru:
            out["Description"] = {"ru": self.description_ru, "en": self.en}
        return out


ERROR_RETURN = Prop("Ошибка", "Error", "string")


@dataclass(frozen=True)
class Activity:
    code: str
    function: str
    name_ru: str
    name_en: str
    description_ru: str
    description_en: str
    run: Callable[[RobotContext], dict[str, Any]]
    properties: dict[str, Prop] = field(default_factory=dict)
    returns: dict[str, Prop] = field(default_factory=dict)
    long_running: bool = False
    document_types: tuple[str, ...] = ("deal", "dynamic")

    def return_properties(self) -> dict[str, Prop]:
        return {**self.returns, "error": ERROR_RETURN}

    def empty_returns(self) -> dict[str, Any]:
        """Defaults sent back with an error, so later steps see every declared value."""
        return {key: "" for key in self.return_properties()}

    def registration(self, handler_url: str, auth_user_id: int | None = None) -> dict[str, Any]:
        """Fields of ``bizproc.robot.add`` (``bizproc-robot-add.md``).

        ``USE_SUBSCRIPTION`` is always explicit (an empty value lets the designer toggle it, and the robot
        would stop waiting for our answer). ``PLACEMENT_HANDLER`` is sent although ``USE_PLACEMENT=N``: the
        method's published schema lists it as required, and a portal ignores it when placement is off.
        """
        include = []
        if "deal" in self.document_types:
            include.append(["crm", "CCrmDocumentDeal"])
        if "dynamic" in self.document_types:
            include.append(["crm", "Bitrix\\Crm\\Integration\\BizProc\\Document\\Dynamic"])
        fields: dict[str, Any] = {
            "CODE": self.code,
            "HANDLER": handler_url,
            "NAME": {"ru": self.name_ru, "en": self.name_en},
            "DESCRIPTION": {"ru": self.description_ru, "en": self.description_en},
            "USE_SUBSCRIPTION": "Y",
            "USE_PLACEMENT": "N",
            "PLACEMENT_HANDLER": handler_url,
            "PROPERTIES": {k: p.registration() for k, p in self.properties.items()},
            "RETURN_PROPERTIES": {k: p.registration() for k, p in self.return_properties().items()},
            "FILTER": {"INCLUDE": include},
        }
        if auth_user_id:
            fields["AUTH_USER_ID"] = auth_user_id
        return fields
