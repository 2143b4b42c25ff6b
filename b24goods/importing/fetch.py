"""Downloading the CSV from a file field of the deal or item.

File user fields come back from ``crm.item.get`` as ``{id, url, urlMachine}`` (``object-fields.md``);
``urlMachine`` is the link an application downloads with. It may embed credentials: it is never logged. A
link to any host other than the calling portal's is refused (a robot property could otherwise make us fetch
an arbitrary URL), and the download stops at the size limit.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

import requests

from ..bitrix import crm
from ..bitrix.client import USER_AGENT, RestClient
from ..bitrix.payloads import DocumentRef
from ..errors import CsvError, DomainError, InputError, TransportError


def uf_key(code: str) -> str:
    """One spelling for both forms of a UF code: ``UF_CRM_2_1639669411830`` ≡ ``ufCrm2_1639669411830``.

    ``crm.item.*`` answers in camelCase unless ``useOriginalUfNames=Y`` is honoured (``crm-item-get.md``), and
    admins copy whichever form their screen shows.
    """
    return code.replace("_", "").lower()


def is_uf_code(code: str) -> bool:
    return uf_key(code).startswith("ufcrm") and len(uf_key(code)) > len("ufcrm")


def file_value(item: dict[str, Any], field: str) -> dict[str, Any]:
    value = item.get(field, item.get(field.upper()))
    if value is None:
        value = next((v for k, v in item.items() if uf_key(k) == uf_key(field)), None)
    if value in (None, "", [], False):
        raise DomainError(f"В поле {field} нет файла: загрузите CSV в карточку и повторите", code="NO_FILE")
    if isinstance(value, list):
        value = [v for v in value if v][-1]
    if not isinstance(value, dict):
        raise DomainError(f"Поле {field} не файловое (значение «{value}»)", code="NOT_A_FILE_FIELD")
    return value


def safe_url(value: dict[str, Any], client_endpoint: str) -> str:
    portal = urlsplit(client_endpoint)
    origin = f"{portal.scheme}://{portal.netloc}/"
    url = urljoin(origin, str(value.get("urlMachine") or value.get("downloadUrl") or value.get("url") or ""))
    target = urlsplit(url)
    if target.scheme not in ("http", "https") or target.netloc.lower() != portal.netloc.lower():
        raise InputError("Ссылка на файл ведёт не на ваш портал Битрикс24: загрузка отклонена", code="FOREIGN_FILE_URL")
    return url


def _filename(resp: requests.Response, value: dict[str, Any]) -> str:
    disposition = resp.headers.get("Content-Disposition", "")
    m = re.search(r"filename\*=UTF-8''([^;]+)", disposition) or re.search(r'filename="?([^";]+)"?', disposition)
    if m:
        return unquote(m.group(1))
    return str(value.get("name") or f"файл {value.get('id', '')}".strip())


def download(rest: RestClient, doc: DocumentRef, field: str, client_endpoint: str, max_bytes: int,
             session: requests.Session | None = None) -> tuple[bytes, str]:
    item = crm.get_item(rest, doc, original_uf=True)
    if not item:
        raise DomainError(f"Документ {doc.key} не найден", code="DOCUMENT_NOT_FOUND")
    value = file_value(item, field)
    url = safe_url(value, client_endpoint)
    portal = urlsplit(client_endpoint)
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Language": "ru",
               "Referer": f"{portal.scheme}://{portal.netloc}/"}
    http = session or rest.session
    token = rest.tokens.access_token() if rest.tokens else None
    try:
        resp = _get(http, url, headers)
        if resp.status_code in (401, 403) and token and "auth=" not in url:
            # The portal's file proxy authenticates an application by its token in ``auth``, as REST does.
            resp.close()
            resp = _get(http, f"{url}{'&' if urlsplit(url).query else '?'}auth={quote(token)}", headers)
        with resp:
            if resp.status_code != 200:
                raise DomainError(f"Портал не отдал файл (HTTP {resp.status_code})", code="FILE_DOWNLOAD_FAILED")
            chunks, size = [], 0
            for chunk in resp.iter_content(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise CsvError(f"Файл больше {max_bytes // (1024 * 1024)} МБ: разделите его на части",
                                   code="FILE_TOO_LARGE")
                chunks.append(chunk)
            return b"".join(chunks), _filename(resp, value)
    except requests.RequestException:
        raise TransportError("файл не удалось скачать с портала", code="TRANSPORT_ERROR") from None


def _get(http: requests.Session, url: str, headers: dict[str, str]) -> requests.Response:
    return http.get(url, headers=headers, timeout=60, stream=True)
