"""Seed data: users, a product catalog with articles (property ``CML2_ARTICLE``) and cost prices."""

from __future__ import annotations

from .portal import Portal

USERS = [
    (1, "Иван", "Админов", True), (2, "Анна", "Смирнова", False), (3, "Сергей", "Петров", False),
    (4, "Ольга", "Сидорова", False), (5, "Дмитрий", "Петров", False), (6, "Мария", "Кузнецова", False),
    (7, "Алексей", "Волков", False),
]

PRODUCTS = [
    # article, name, price, purchasing price, type (1 product, 7 service), measure code
    ("SH-001", "Шкаф-купе 2-дверный, дуб сонома", 45900, 31200, 1, 796),
    ("ST-104", "Столешница, пластик HPL 38 мм", 4250.5, 2900, 1, 6),
    ("FR-220", 'Фасад МДФ "Прованс"; эмаль', 3180, 1950.4, 1, 796),
    ("HD-010", "Ручка-скоба 128 мм", 350, 120, 1, 796),
    (None, "Доставка по городу", 2500, 1200, 7, 796),
]


def seed(portal: Portal) -> None:
    for uid, name, last, admin in USERS:
        portal.users[uid] = {"ID": str(uid), "ACTIVE": True, "NAME": name, "LAST_NAME": last, "SECOND_NAME": "",
                             "EMAIL": f"user{uid}@example.test", "IS_ADMIN": admin, "UF_DEPARTMENT": [1],
                             "USER_TYPE": "employee"}
    for article, name, price, cost, kind, measure in PRODUCTS:
        pid = portal.next_id()
        product = {"id": pid, "iblockId": portal.iblock_id, "name": name, "active": "Y", "xmlId": f"x{pid}",
                   "type": kind, "purchasingPrice": cost, "purchasingCurrency": "RUB", "measureCode": measure,
                   "vatIncluded": "N", "price": price}
        if article:
            product[f"property{portal.article_property_id}"] = {"value": article, "valueId": portal.next_id()}
        portal.products[pid] = product
