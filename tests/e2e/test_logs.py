"""Tokens never reach a log: every record of every logger, at DEBUG, over calls that carry or use tokens."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests

from b24goods.bitrix.phpform import flatten
from tests.csv_corpus import sample
from tests.e2e.test_import_csv import run_import, upload


def test_no_token_reaches_any_log(app_sqlite: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sb = app_sqlite.sandbox
    refresh_tokens = set(sb.portal.refresh_tokens)
    sb.portal.file_proxy_auth = True  # the file link is fetched with the token in its query string
    deal = upload(sb, sample("order-utf8-comma.csv"))
    assert run_import(app_sqlite, deal)["error"] == ""
    refresh_tokens |= set(sb.portal.refresh_tokens)
    sb.portal.expire_all_tokens()  # the next call refreshes through the OAuth server
    assert app_sqlite.run_robot(2, deal, "b24goods_recalc_sum").return_values["error"] == ""
    refresh_tokens |= set(sb.portal.refresh_tokens)
    forged = sb.portal.auth_block(1)
    forged["application_token"] = "forged"
    assert requests.post(app_sqlite.fn("recalc_sum"), data=flatten({
        "workflow_id": "w", "code": "b24goods_recalc_sum", "event_token": "t",
        "document_id": ["crm", "CCrmDocumentDeal", f"DEAL_{deal}"], "auth": forged}), timeout=30).status_code == 401
    secrets = ({t for t in sb.portal.tokens} | refresh_tokens
               | {sb.portal.application_token, sb.portal.client_secret}) - {""}
    ours = [r for r in caplog.records if not r.name.startswith("sandbox")]
    assert len(ours) > 10  # the scenario did log (REST calls, HTTP requests, the refused call)
    assert any("auth=***" in r.getMessage() for r in ours)  # the file link's request line, masked
    assert any("client_secret=***" in r.getMessage() for r in ours)  # the OAuth refresh's, masked
    text = "\n".join(f"{r.name}: {r.getMessage()} {r.exc_text or ''}" for r in ours)
    leaked = [line for line in text.splitlines() if any(s in line for s in secrets)]
    assert leaked == []


def test_redaction_keeps_the_rest_of_the_line() -> None:
    from b24goods.redact import redact

    line = '"GET /oauth/token/?grant_type=refresh_token&client_id=app.1&client_secret=s3&refresh_token=r4 HTTP/1.1"'
    assert redact(line) == ('"GET /oauth/token/?grant_type=refresh_token&client_id=app.1&client_secret=***'
                            '&refresh_token=*** HTTP/1.1"')
    assert redact("/download/15?token=t1&auth=a2") == "/download/15?token=***&auth=***"
    assert redact("/rest/crm.item.get?entityTypeId=2&id=5") == "/rest/crm.item.get?entityTypeId=2&id=5"
