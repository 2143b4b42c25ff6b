"""Token refresh and the robot call's own token as its fallback (SQLite store, no HTTP needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from b24goods.bitrix.oauth import PortalTokens, robot_token
from b24goods.config import Config
from b24goods.errors import B24GoodsError
from b24goods.store import open_store
from b24goods.store.models import Installation
from b24goods.store.portal import PortalStore


def make_tokens(tmp_path: Path, member_id: str = "m1") -> PortalTokens:
    portal = PortalStore(open_store(f"sqlite:///{tmp_path / 'store.db'}"), member_id)
    portal.save_installation(Installation(
        member_id=member_id, client_endpoint="https://portal.example/rest/", application_token="app",
        access_token="stored-expired", refresh_token="refresh", user_id=1))
    cfg = Config(store_url="", queue="inline", public_url="", client_id=None, client_secret=None,  # cannot refresh
                 max_csv_bytes=1, pubsub_topic="", project=None)
    return PortalTokens(portal, cfg)


def test_without_a_robot_call_a_failed_refresh_is_an_error(tmp_path: Path) -> None:
    tokens = make_tokens(tmp_path)
    with pytest.raises(B24GoodsError) as info:
        tokens.refresh("stored-expired")
    assert info.value.code == "BAD_CONFIG"


def test_a_robot_call_goes_on_with_its_own_token_for_that_request_only(tmp_path: Path) -> None:
    tokens = make_tokens(tmp_path)
    with robot_token("m1", "robot-fresh"):
        assert tokens.access_token() == "stored-expired"  # the portal's pair stays first
        assert tokens.refresh("stored-expired") == "robot-fresh"
        assert tokens.access_token() == "robot-fresh"  # later calls of this request skip the failed refresh
    assert tokens.access_token() == "stored-expired"  # not kept past the request
    stored = tokens.portal.installation(fresh=True)
    assert stored is not None and stored.access_token == "stored-expired"  # never stored


def test_another_portals_robot_token_is_never_used(tmp_path: Path) -> None:
    tokens = make_tokens(tmp_path, "m1")
    with robot_token("m2", "other-portal"), pytest.raises(B24GoodsError):
        tokens.refresh("stored-expired")


def test_an_expired_robot_token_is_not_offered_again(tmp_path: Path) -> None:
    tokens = make_tokens(tmp_path)
    with robot_token("m1", "robot-fresh"):
        tokens.refresh("stored-expired")
        # the robot's own token expired too: the portal's pair again (the client then reports expired_token)
        assert tokens.refresh("robot-fresh") != "robot-fresh"
        assert tokens.access_token() != "robot-fresh"


def test_a_call_without_a_token_offers_nothing(tmp_path: Path) -> None:
    tokens = make_tokens(tmp_path)
    with robot_token("m1", None), pytest.raises(B24GoodsError):
        tokens.refresh("stored-expired")
