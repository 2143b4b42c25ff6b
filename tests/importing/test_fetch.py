"""Finding the CSV's link in a file field, and refusing links that leave the portal."""

from __future__ import annotations

import pytest

from b24goods.errors import DomainError, InputError
from b24goods.importing.fetch import file_value, is_uf_code, safe_url, uf_key

LINK = {"id": 7, "url": "/show", "urlMachine": "https://portal.example/rest/download?token=t"}


@pytest.mark.parametrize("original, camel", [
    ("UF_CRM_2_1639669411830", "ufCrm2_1639669411830"), ("UF_CRM_1721244707107", "ufCrm_1721244707107"),
    ("UF_CRM_ORDER_FILE", "ufCrmOrderFile"),
])
def test_both_spellings_of_a_uf_code_are_one_field(original: str, camel: str) -> None:
    assert uf_key(original) == uf_key(camel)
    assert is_uf_code(original) and is_uf_code(camel)


@pytest.mark.parametrize("code", ["TITLE", "ufCrm", "UF_", "opportunity"])
def test_what_is_not_a_uf_code(code: str) -> None:
    assert not is_uf_code(code)


def test_a_portal_that_answers_in_camel_case_still_gives_the_file() -> None:
    item = {"id": 1, "ufCrm2_1639669411830": [None, LINK]}
    assert file_value(item, "UF_CRM_2_1639669411830") == LINK


def test_an_empty_field_and_a_field_that_is_not_a_file() -> None:
    with pytest.raises(DomainError, match="нет файла"):
        file_value({"UF_CRM_X": []}, "UF_CRM_X")
    with pytest.raises(DomainError, match="не файловое"):
        file_value({"UF_CRM_X": "text"}, "UF_CRM_X")


def test_links_are_resolved_against_the_portal_and_foreign_hosts_refused() -> None:
    assert safe_url({"urlMachine": "/rest/download?x=1"}, "https://portal.example/rest/") == \
        "https://portal.example/rest/download?x=1"
    assert safe_url({"downloadUrl": "https://portal.example/d"}, "https://portal.example/rest/") == \
        "https://portal.example/d"
    for foreign in ("https://evil.example/x", "https://portal.example.evil.example/x", "file:///etc/passwd",
                    "http://169.254.169.254/latest/meta-data"):
        with pytest.raises(InputError):
            safe_url({"urlMachine": foreign}, "https://portal.example/rest/")
