"""The report says which system a run drove: the product a target file declares, the target
file's name, or firstbell's own reference SIS — and which personas were not rehearsed."""

from __future__ import annotations

from firstbell.report.data import system_rehearsed


def test_the_product_a_target_file_declares() -> None:
    plan = {"target": "rosariosis", "target_file": {
        "name": "rosariosis", "product": {"name": "RosarioSIS", "version": "12.0"}}}
    assert system_rehearsed(plan) == "RosarioSIS 12.0 (target file rosariosis)"


def test_a_target_file_without_a_product_is_named_by_its_file() -> None:
    assert system_rehearsed({"target_file": {"name": "district_sis"}}) == \
        "target file district_sis"


def test_the_reference_sis_is_never_mistaken_for_the_vendors() -> None:
    assert system_rehearsed({"target": "staging"}) == "firstbell's reference staging SIS"
    assert system_rehearsed({}) == "firstbell's reference staging SIS"
    assert system_rehearsed({"target": "ping"}) == "target ping"
