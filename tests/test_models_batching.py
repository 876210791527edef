"""Forward-pass planning: every text once, the caps, less padding than the greedy cut."""

from __future__ import annotations

import random

import pytest

from streamwatch.models.batching import plan_batches


def padded_cost(groups: list[list[int]], lengths: list[int], overhead: int) -> int:
    return sum(overhead + max(lengths[i] for i in g) * len(g) for g in groups)


def greedy(lengths: list[int], max_rows: int, max_tokens: int) -> list[list[int]]:
    """The cut the encoder used before: fill each batch to the caps, shortest first."""
    groups: list[list[int]] = []
    current: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        if current and (len(current) >= max_rows or lengths[i] * (len(current) + 1) > max_tokens):
            groups.append(current)
            current = []
        current.append(i)
    return [*groups, current] if current else groups


def check_plan(groups: list[list[int]], lengths: list[int], rows: int, tokens: int) -> None:
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    widths = [max(lengths[i] for i in g) for g in groups]
    assert widths == sorted(widths)  # shortest batches first
    for g, width in zip(groups, widths, strict=True):
        assert len(g) <= rows
        assert len(g) == 1 or width * len(g) <= tokens


def test_no_texts_no_batches() -> None:
    assert plan_batches([], 64, 2048, 32) == []


def test_short_chat_is_not_padded_to_a_long_question() -> None:
    lengths = [3] * 20 + [40, 41]
    groups = plan_batches(lengths, 64, 2048, 32)
    check_plan(groups, lengths, 64, 2048)
    assert [sorted(g) for g in groups] == [list(range(20)), [20, 21]]
    # one batch would pad twenty 3-token texts to 41: 22 * 41 = 902 tokens against 142
    assert padded_cost(groups, lengths, 32) < padded_cost(greedy(lengths, 64, 2048), lengths, 32)


def test_a_costly_pass_keeps_batches_big() -> None:
    lengths = [3] * 20 + [40, 41]
    assert len(plan_batches(lengths, 64, 2048, 10_000)) == 1


def test_free_passes_remove_all_padding() -> None:
    lengths = [5, 9, 5, 7, 9, 2, 7]
    groups = plan_batches(lengths, 64, 2048, 0)
    check_plan(groups, lengths, 64, 2048)
    for g in groups:
        assert len({lengths[i] for i in g}) == 1


def test_caps_split_evenly_and_a_too_long_text_goes_alone() -> None:
    lengths = [10] * 10 + [500]
    groups = plan_batches(lengths, 4, 100, 1_000)
    check_plan(groups, lengths, 4, 100)
    assert sorted(len(g) for g in groups) == [1, 3, 3, 4]
    assert groups[-1] == [10]


@pytest.mark.parametrize("seed", range(5))
def test_never_costs_more_than_the_greedy_cut(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(300):
        lengths = [
            rng.choice([rng.randint(2, 15), rng.randint(2, 64)]) for _ in range(rng.randint(1, 200))
        ]
        rows, tokens = rng.choice([(3, 48), (16, 200), (64, 2048), (1024, 49152)])
        overhead = rng.choice([0, 8, 32, 4096])
        groups = plan_batches(lengths, rows, tokens, overhead)
        check_plan(groups, lengths, rows, tokens)
        cut = greedy(lengths, rows, tokens)
        assert padded_cost(groups, lengths, overhead) <= padded_cost(cut, lengths, overhead)
