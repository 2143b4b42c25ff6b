"""``placement``: the "Товары и услуги" tab of the deal and item cards (``placement.bind`` at install)."""

from __future__ import annotations

from typing import Any

from flask import Request

from b24goods.http import body_of, guarded
from b24goods.placement.handler import handle


@guarded
def placement(request: Request) -> Any:
    return handle(request, body_of(request))
