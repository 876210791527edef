"""Cut texts of different lengths into forward passes that waste little work on padding.

A forward pass over a batch pads every text to the longest one in it, so a batch that mixes a
3-token "666" with a 40-token question spends most of its matrix products on padding. On live
chat the waste is large: a greedy cut of the length-sorted texts into batches of the maximum size
computed 1.73 padded tokens per real token on a real YouTube replay, in calls of 256 messages.

:func:`plan_batches` picks the cut that minimises ``passes * overhead + padded tokens``, where
``overhead`` is what one forward pass costs beyond its tokens (Python and kernel launches),
expressed in tokens. A small overhead (CPU) gives more, tighter batches; a large one (GPU) gives
few, big batches. The search is a dynamic program over the distinct lengths (at most the
encoder's ``max_length`` of them), so its cost hardly grows with the number of texts. Its
per-group estimate assumes every batch of a group is as wide as the group's longest text; where a
tight ``max_tokens`` makes the plain greedy cut (fill each batch to the caps, shortest first)
cheaper, the greedy cut is used, so a plan never costs more than that cut.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence


def plan_batches(
    lengths: Sequence[int], max_rows: int, max_tokens: int, overhead: int
) -> list[list[int]]:
    """Indices of ``lengths`` grouped into batches, shortest first: each batch holds at most
    ``max_rows`` texts and ``max_tokens`` padded tokens (a single longer text goes alone), and the
    grouping minimises the estimated cost ``overhead`` per batch plus the padded tokens."""
    if not lengths:
        return []
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    values: list[int] = []  # the distinct lengths, ascending
    ends: list[int] = []  # ends[k]: one past the last position in `order` with length values[k]
    for pos, i in enumerate(order):
        if values and values[-1] == lengths[i]:
            ends[-1] = pos + 1
        else:
            values.append(lengths[i])
            ends.append(pos + 1)
    starts = [0, *ends[:-1]]

    def rows_per_batch(width: int) -> int:
        return max(1, min(max_rows, max_tokens // max(width, 1)))

    # best[j]: least cost of the texts with the j shortest distinct lengths; cut[j]: where the
    # last group of that solution starts (an index into `values`).
    best = [0.0] + [math.inf] * len(values)
    cut = [0] * (len(values) + 1)
    for j in range(1, len(values) + 1):
        width = values[j - 1]
        per = rows_per_batch(width)
        for i in range(j):
            count = ends[j - 1] - starts[i]
            cost = best[i] + overhead * math.ceil(count / per) + width * count
            if cost < best[j]:
                best[j], cut[j] = cost, i

    groups: list[list[int]] = []
    j = len(values)
    while j > 0:
        i = cut[j]
        first, last = starts[i], ends[j - 1]
        passes = math.ceil((last - first) / rows_per_batch(values[j - 1]))
        size, extra = divmod(last - first, passes)  # even batches rather than one small tail
        bounds = [first + k * size + min(k, extra) for k in range(passes + 1)]
        groups[:0] = [order[a:b] for a, b in itertools.pairwise(bounds)]
        j = i
    greedy = _greedy(order, lengths, max_rows, max_tokens)
    if _cost(greedy, lengths, overhead) < _cost(groups, lengths, overhead):
        return greedy
    return groups


def _greedy(
    order: Sequence[int], lengths: Sequence[int], max_rows: int, max_tokens: int
) -> list[list[int]]:
    groups: list[list[int]] = []
    current: list[int] = []
    for i in order:  # ascending: the newest is the longest of the group
        if current and (len(current) >= max_rows or lengths[i] * (len(current) + 1) > max_tokens):
            groups.append(current)
            current = []
        current.append(i)
    if current:
        groups.append(current)
    return groups


def _cost(groups: Sequence[Sequence[int]], lengths: Sequence[int], overhead: int) -> int:
    return sum(overhead + max(lengths[i] for i in g) * len(g) for g in groups)
