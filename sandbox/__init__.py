"""A local Bitrix24 portal for development, the demo and end-to-end tests (DESIGN §1).

    sandbox = Sandbox.start()           # serves http://127.0.0.1:<port>/rest/...
    sandbox.install_app(public_url)     # the portal's side of installing the app (ONAPPINSTALL POST)
    deal = sandbox.add_deal(...); sandbox.add_row(deal, ...)
    sandbox.portal.place_robot(2, "WON", "b24goods_recalc_sum")
    sandbox.move(2, deal, "WON")        # robots on that stage are called over HTTP
"""

from __future__ import annotations

from typing import Any

import requests

from b24goods.bitrix.phpform import flatten

from .methods import Ctx, apply_fields, fill_row, new_item, recalc_owner, saved
from .portal import DEAL, Portal
from .seed import seed
from .server import ServerThread, create_app


class Sandbox:
    def __init__(self, portal: Portal, server: ServerThread) -> None:
        self.portal = portal
        self.server = server

    @classmethod
    def start(cls, *, seed_data: bool = True, port: int = 0) -> Sandbox:
        portal = Portal()
        server = ServerThread(create_app(portal), port=port, quiet=True)
        portal.base_url = server.url
        if seed_data:
            seed(portal)
        server.start()
        return cls(portal, server)

    def stop(self) -> None:
        self.portal.flush(5)
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url

    # the portal's side of installing an application ---------------------------------------------------
    def install_app(self, install_url: str, admin_id: int = 1) -> requests.Response:
        """POST ``ONAPPINSTALL`` with the auth block to the app's install handler (installation callback)."""
        payload = {"event": "ONAPPINSTALL", "data": {"VERSION": "1", "ACTIVE": "Y", "INSTALLED": "Y",
                                                     "LANGUAGE_ID": "ru"},
                   "ts": "0", "auth": self.portal.auth_block(admin_id)}
        return requests.post(install_url, data=flatten(payload), timeout=60)

    def uninstall_app(self, events_url: str, clean: bool = False) -> requests.Response:
        payload = {"event": "ONAPPUNINSTALL", "data": {"LANGUAGE_ID": "ru", "CLEAN": "1" if clean else "0"},
                   "auth": {k: v for k, v in self.portal.auth_block(1, with_tokens=False).items()}}
        return requests.post(events_url, data=flatten(payload), timeout=60)

    # what users do in the portal's UI ----------------------------------------------------------------
    def _ctx(self, user_id: int) -> Ctx:
        return Ctx(self.portal, user_id, app=False)

    def add_item(self, entity_type_id: int, user_id: int = 1, **fields: Any) -> int:
        with self.portal.lock:
            return int(new_item(self.portal, entity_type_id, fields, user_id)["id"])

    def add_deal(self, user_id: int = 1, **fields: Any) -> int:
        return self.add_item(DEAL, user_id, **fields)

    def add_row(self, entity_type_id: int, owner_id: int, user_id: int = 1, silent: bool = True, **fields: Any) -> int:
        """A row added by a user in the card (``silent`` skips the owner's update event)."""
        from b24goods.bitrix.payloads import owner_type_of

        from .methods import productrow_add

        with self.portal.lock:
            if silent:
                row: dict[str, Any] = {"id": self.portal.next_id(), "ownerId": owner_id, "ownerType": owner_type_of(entity_type_id),
                       "productId": 0, "productName": "", "price": 0.0, "quantity": 1.0, "discountTypeId": 2,
                       "discountRate": 0.0, "discountSum": 0.0, "taxRate": None, "taxIncluded": "N",
                       "measureCode": 796, "measureName": "шт", "sort": 10}
                fill_row(self.portal, row, fields)
                self.portal.rows[row["id"]] = row
                recalc_owner(self.portal, entity_type_id, owner_id)
                return int(row["id"])
            res = productrow_add(self._ctx(user_id), {"fields": {"ownerType": owner_type_of(entity_type_id),
                                                                  "ownerId": owner_id, **fields}})
            return int(res["productRow"]["id"])

    def edit_row(self, row_id: int, user_id: int = 1, **fields: Any) -> None:
        """A user changes a row in the card: the owner is re-saved and its update event sent."""
        from .methods import productrow_update

        with self.portal.lock:
            productrow_update(self._ctx(user_id), {"id": row_id, "fields": fields})

    def remove_row(self, row_id: int, user_id: int = 1) -> None:
        from .methods import productrow_delete

        with self.portal.lock:
            productrow_delete(self._ctx(user_id), {"id": row_id})

    def update(self, entity_type_id: int, item_id: int, user_id: int = 1, **fields: Any) -> None:
        with self.portal.lock:
            item = self.portal.items[entity_type_id][item_id]
            changed = apply_fields(self.portal, item, fields)
            recalc_owner(self.portal, entity_type_id, item_id)
            saved(self._ctx(user_id), entity_type_id, item, changed)

    def move(self, entity_type_id: int, item_id: int, stage_id: str, user_id: int = 1) -> None:
        self.update(entity_type_id, item_id, user_id, stageId=stage_id)

    def item(self, entity_type_id: int, item_id: int) -> dict[str, Any]:
        with self.portal.lock:
            return dict(self.portal.items[entity_type_id][item_id])

    def rows(self, entity_type_id: int, owner_id: int) -> list[dict[str, Any]]:
        from b24goods.bitrix.payloads import owner_type_of

        code = owner_type_of(entity_type_id)
        with self.portal.lock:
            return sorted(({k: v for k, v in r.items() if not k.startswith("_")} for r in self.portal.rows.values()
                           if r["ownerId"] == owner_id and r["ownerType"] == code), key=lambda r: r["id"])


__all__ = ["DEAL", "Portal", "Sandbox"]
