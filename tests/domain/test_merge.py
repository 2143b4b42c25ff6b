"""The three-way merge: every case of DESIGN §4 (sync), plus properties over random edits."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from b24goods.domain.merge import Pair, canon, merge
from b24goods.domain.rows import ProductRow

ITEM = "1038:7"
DEAL = "2:5"


def row(id_: int, **fields: Any) -> ProductRow:
    return ProductRow.model_validate({"id": id_, "productName": "Фасад", "price": 3000, "quantity": 4, **fields})


def run(deal_rows: list[ProductRow], item_rows: list[ProductRow], pairs: list[Pair], **kw: Any):  # type: ignore[no-untyped-def]
    return merge(DEAL, deal_rows, {ITEM: item_rows}, pairs, deal_only_prefixes=["Доставка", "Доп. соглашение"], **kw)


def linked(**base: Any) -> Pair:
    return Pair(1, ITEM, 101, canon(row(1, **base)))


def test_no_change_is_quiet() -> None:
    result = run([row(1)], [row(101)], [linked()])
    assert result.quiet and result.pairs[0].snapshot == canon(row(1))


def test_change_on_one_side_is_carried_over() -> None:
    result = run([row(1)], [row(101, quantity=6)], [linked()])
    assert [(w.side, w.op, w.row_id, w.fields["quantity"]) for w in result.writes] == [("deal", "update", 1, 6.0)]


def test_same_change_on_both_sides_needs_nothing() -> None:
    result = run([row(1, price=3100)], [row(101, price="3100.00")], [linked()])
    assert result.writes == [] and result.conflicts == [] and result.pairs[0].snapshot["price"] == "3100"


def test_different_fields_on_each_side_are_both_kept() -> None:
    result = run([row(1, price=3100)], [row(101, quantity=7)], [linked()])
    fields = {w.side: (w.fields["price"], w.fields["quantity"]) for w in result.writes}
    assert fields == {"deal": (3100.0, 7.0), "item": (3100.0, 7.0)}


def test_same_field_two_values_is_a_conflict_and_nothing_is_written() -> None:
    result = run([row(1, quantity=2)], [row(101, quantity=3)], [linked()])
    assert result.writes == [] and result.conflicts[0].fields == ["quantity"]
    assert result.pairs[0].snapshot == canon(row(1))  # the snapshot waits for a resolution


def test_one_way_sync_resolves_for_its_side() -> None:
    result = run([row(1, quantity=2)], [row(101, quantity=3)], [linked()], prefer="deal")
    assert [(w.side, w.fields["quantity"]) for w in result.writes] == [("item", 2.0)]


def test_deleted_on_one_side_is_deleted_on_the_other() -> None:
    result = run([], [row(101)], [linked()])
    assert [(w.side, w.op, w.row_id) for w in result.writes] == [("item", "delete", 101)]


def test_deleted_on_one_side_but_edited_on_the_other_is_a_conflict() -> None:
    result = run([], [row(101, quantity=9)], [linked()])
    assert result.writes == [] and result.conflicts[0].fields == ["deleted"]


def test_new_rows_go_to_the_other_side_and_deal_only_rows_stay() -> None:
    result = run([row(1), row(2, productName="Доставка по городу", price=2500, quantity=1)],
                 [row(101), row(102, productName="Подсветка", price=4800, quantity=1)], [linked()])
    assert [(w.side, w.op, w.fields["productName"]) for w in result.writes] == [("deal", "add", "Подсветка")]


def test_first_sync_pairs_identical_rows_and_copies_the_rest() -> None:
    result = run([row(1), row(2, productName="Стол", price=900)], [row(101)], [])
    assert [(p.deal_row, p.item_row) for p in result.pairs] == [(1, 101), (2, 0)]
    assert [(w.side, w.op, w.pair_index) for w in result.writes] == [("item", "add", 1)]


EDIT = st.fixed_dictionaries({}, optional={"price": st.sampled_from([2900, 3000, 3100]),
                                            "quantity": st.sampled_from([1, 4, 6]),
                                            "discountRate": st.sampled_from([0, 5])})


@given(deal_edit=EDIT, item_edit=EDIT)
def test_merge_properties(deal_edit: dict[str, Any], item_edit: dict[str, Any]) -> None:
    result = run([row(1, **deal_edit)], [row(101, **item_edit)], [linked()])
    if result.conflicts:
        assert result.writes == []  # a conflict never overwrites a side
        def value(f: str, edit: dict[str, Any]) -> Any:
            return canon(row(1, **({f: edit[f]} if edit else {})))[f]

        clashing = {f for f in ("price", "quantity", "discountRate")
                    if f in deal_edit and f in item_edit and value(f, deal_edit) != value(f, item_edit)
                    and value(f, deal_edit) != value(f, {}) and value(f, item_edit) != value(f, {})}
        assert set(result.conflicts[0].fields) == clashing
        return
    merged = result.pairs[0].snapshot
    # applying the writes makes both sides equal to the merged snapshot, and each side's own change survives
    for key in {**deal_edit, **item_edit}:
        assert merged[key] is not None
    deal_after = canon(row(1, **next((w.fields for w in result.writes if w.side == "deal"), row(1, **deal_edit).to_bitrix())))
    item_after = canon(row(1, **next((w.fields for w in result.writes if w.side == "item"), row(1, **item_edit).to_bitrix())))
    assert deal_after == item_after == merged
    again = run([row(1, **{**deal_after})], [row(101, **{**item_after})], result.pairs)
    assert again.quiet  # the echo of our own writes costs nothing
