"""``python -m b24goods import-csv FILE --deal ID --webhook URL``: the same import, run by an integrator.

An incoming webhook acts as its user with the webhook's scopes (``local-integrations/local-webhooks.md``):
enough for CRM and catalog methods. The catalog settings the installed application keeps are looked up
here on the fly; created products are remembered in the local store under the portal's host.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlsplit

from ..bitrix import crm
from ..bitrix.client import RestClient
from ..bitrix.payloads import DocumentRef
from ..errors import B24GoodsError, RestError
from ..store.models import Settings
from .run import ImportRequest, MemoryCheckpoints, run_import


def _settings(rest: RestClient) -> Settings:
    try:
        iblock = crm.product_catalog_iblock(rest)
    except RestError:
        return Settings()
    props = rest.list_all("catalog.productProperty.list", {"filter": {"iblockId": iblock}},
                          items_key="productProperties") if iblock else []
    article = next((p for p in props if str(p.get("code", "")).upper() == "CML2_ARTICLE"), None)
    types = rest.list_all("catalog.priceType.list", {}, items_key="priceTypes")
    base = next((t for t in types if str(t.get("base", "")).upper() == "Y"), None)
    return Settings(catalog_iblock_id=iblock, article_property_id=int(article["id"]) if article else None,
                    base_price_type_id=int(base["id"]) if base else None)


def _bar(done: int, total: int) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} пакетов")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def import_csv_command(args: argparse.Namespace) -> int:
    from ..context import store
    from ..store.portal import PortalStore

    if args.deal:
        doc = DocumentRef(entity_type_id=2, id=args.deal)
    else:
        etid, _, item_id = str(args.item).partition(":")
        doc = DocumentRef(entity_type_id=int(etid), id=int(item_id))
    path = Path(args.file)
    rest = RestClient(args.webhook)
    host = urlsplit(args.webhook).netloc.replace(":", "_") or "portal"
    req = ImportRequest(doc=doc, mode=args.mode, create_products=args.create_products, dry_run=args.dry_run,
                        data=path.read_bytes(), filename=path.name)
    try:
        result = run_import(rest, PortalStore(store(), f"cli-{host}"), _settings(rest), req, MemoryCheckpoints(),
                            log=lambda m: print(m, file=sys.stderr), progress=_bar)
        if not args.dry_run:
            from ..totals import compute_totals, write_sum

            item, _, totals = compute_totals(rest, PortalStore(store(), f"cli-{host}"), doc, require_prices=False)
            write_sum(rest, doc, item, totals)
            result.sum = totals.sum
    except B24GoodsError as exc:
        print(f"Ошибка: {exc.user_message}", file=sys.stderr)
        for issue in getattr(exc, "issues", []):
            print(f"  {issue}", file=sys.stderr)
        return 1
    print(result.report)
    print(f"добавлено {result.rows_added}, обновлено {result.rows_updated}, без изменений {result.rows_skipped}, "
          f"новых товаров {result.products_created}" + (f", сумма {result.sum:.2f}" if result.sum is not None else ""))
    return 0
