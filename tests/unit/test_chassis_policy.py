"""Policy packs are data, validated on load: a bad key or value is refused with file, key and reason."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.chassis.policy import PolicyBook, PolicyError
from services.chassis.settings import Settings

SHIPPED = Settings().policy_dir


def test_the_shipped_packs_load_with_the_seed_figures() -> None:
    book = PolicyBook.load(SHIPPED)
    assert {"national", "zhengzhou", "xian", "changzhou", "penglai"} <= set(book.names)
    zz = book.pack("zhengzhou")
    # 004_31a27ecd68c2f343.txt: finance approval from 100万, filings from 500万 (contract copy in 15 days),
    # catalogue published within 10 working days.
    assert zz.budget.finance_approval_from_fen == 100 * 1_000_000
    assert zz.budget.filing_from_fen == 500 * 1_000_000
    assert zz.budget.contract_copy_filing_days == 15
    assert zz.catalogue.publication_working_days == 10
    # 002_88cf206893e82986.txt: from 50万 public tender first, single source only for a renewal.
    cz = book.pack("changzhou")
    top = next(b for b in cz.contract.method_bands if b.below_fen is None)
    assert top.from_fen == 50 * 1_000_000 and top.first_cycle == ["public_tender"]
    assert "single_source" in top.renewal
    assert cz.ref == "changzhou@2024.1"


def write(tmp: Path, name: str, text: str) -> None:
    (tmp / name).write_text(text, encoding="utf-8")


BASE = "pack: p\nname: P\nversion: '1'\neffective_from: 2024-01-01\n"


def test_an_unknown_key_is_refused_with_file_and_key(tmp_path: Path) -> None:
    write(tmp_path, "p.yaml", BASE + "budget:\n  finance_aproval_from: '100万'\n")
    with pytest.raises(PolicyError, match=r"p\.yaml: budget\.finance_aproval_from: Extra inputs"):
        PolicyBook.load(tmp_path)


def test_a_bad_value_is_refused_with_the_reason(tmp_path: Path) -> None:
    write(tmp_path, "p.yaml", BASE + "budget:\n  finance_approval_from: 1000000\n")
    with pytest.raises(PolicyError, match=r"p\.yaml: budget\.finance_approval_from: .*yuan strings"):
        PolicyBook.load(tmp_path)


def test_versions_are_effective_dated(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", BASE + "catalogue:\n  publication_working_days: 10\n")
    write(tmp_path, "b.yaml", BASE.replace("'1'", "'2'").replace("2024-01-01", "2025-01-01")
          + "catalogue:\n  publication_working_days: 15\n")
    book = PolicyBook.load(tmp_path)
    assert book.pack("p", date(2024, 6, 1)).catalogue.publication_working_days == 10
    assert book.pack("p", date(2025, 6, 1)).ref == "p@2"
    with pytest.raises(PolicyError, match="no version in force"):
        book.pack("p", date(2023, 1, 1))


def test_extends_merges_the_parent_and_the_child_wins(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE.replace("pack: p", "pack: base") + "budget:\n  contract_copy_filing_days: 15\n")
    write(tmp_path, "kid.yaml",
          BASE.replace("pack: p", "pack: kid") + "extends: base\nbudget:\n  filing_from: '600万'\n")
    kid = PolicyBook.load(tmp_path).pack("kid")
    assert kid.budget.contract_copy_filing_days == 15
    assert kid.budget.filing_from_fen == 600 * 1_000_000
