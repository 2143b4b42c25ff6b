"""The integrator's command line."""

from __future__ import annotations

import argparse
import json
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m b24goods")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve every function at /<name>")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8080)
    sub.add_parser("demo", help="full scenario against the local sandbox portal")
    st = sub.add_parser("settings", help="show or change a portal's settings")
    st.add_argument("--member-id", required=True)
    st.add_argument("set", nargs="*", help="key=value")
    h = sub.add_parser("history", help="an order's history")
    h.add_argument("--member-id", required=True)
    h.add_argument("--deal", type=int, required=True)
    h.add_argument("--limit", type=int, default=50)
    rec = sub.add_parser("reconcile", help="sync every linked order of a portal (repairs lost events)")
    rec.add_argument("--member-id", required=True)
    imp = sub.add_parser("import-csv", help="import a CSV into a deal or item through an incoming webhook")
    imp.add_argument("file")
    target = imp.add_mutually_exclusive_group(required=True)
    target.add_argument("--deal", type=int)
    target.add_argument("--item", help="ENTITY_TYPE_ID:ID of a smart-process item")
    imp.add_argument("--webhook", required=True, help="incoming webhook URL, https://portal/rest/<user>/<code>/")
    imp.add_argument("--mode", choices=("append", "replace"), default="append")
    imp.add_argument("--create-products", action="store_true")
    imp.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "serve":
        from .serve import serve

        serve(args.host, args.port)
        return 0
    if args.command == "demo":
        from .demo import run_demo

        return run_demo()
    if args.command == "import-csv":
        from .importing.cli import import_csv_command

        return import_csv_command(args)
    from .context import store
    from .store.portal import PortalStore

    portal = PortalStore(store(), args.member_id)
    if args.command == "settings":
        changes = dict(item.split("=", 1) for item in args.set)
        settings = portal.update_settings(**changes) if changes else portal.settings()
        json.dump(settings.model_dump(mode="json"), sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    if args.command == "reconcile":
        from .context import portal_context
        from .sync import reconcile

        pc = portal_context(portal)
        print(json.dumps(reconcile(pc.rest, portal, pc.installation.client_endpoint), ensure_ascii=False))
        return 0
    if args.command == "history":
        for _, entry in portal.history(args.deal, limit=args.limit):
            print(f"{entry.at}  {entry.action:<10} {entry.source:<28} {entry.summary}")
        return 0
    return 2
