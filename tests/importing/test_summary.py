"""The line an import leaves in the order's history and the card's timeline."""

from __future__ import annotations

from decimal import Decimal

from b24goods.importing.run import ImportResult

NBSP = "\u00a0"


def test_summary_names_the_file_the_counts_and_the_sum_in_roubles() -> None:
    result = ImportResult(rows_added=5, rows_updated=1, rows_skipped=2, rows_deleted=0, products_created=1)
    assert result.summary("заказ.csv", Decimal("125650.9")) == (
        "Импорт «заказ.csv»: добавлено 5, обновлено 1, без изменений 2, удалено 0, новых товаров 1; "
        f"сумма 125{NBSP}650,90{NBSP}₽")
    assert result.summary("заказ.csv", Decimal("0"), " из вкладки").startswith("Импорт «заказ.csv» из вкладки: ")
