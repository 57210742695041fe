from collections import Counter

from colorizer.data.splits import assign

FRACTIONS = {"train": 0.7, "val": 0.1, "test": 0.2}


def test_assignment_is_deterministic_and_follows_fractions():
    names = [f"folder/img_{i}.jpg" for i in range(3000)]
    first = [assign(n, FRACTIONS) for n in names]
    assert first == [assign(n, FRACTIONS) for n in names]
    counts = Counter(first)
    for split, fraction in FRACTIONS.items():
        assert abs(counts[split] / len(names) - fraction) < 0.03, counts


def test_adding_images_never_moves_existing_ones():
    before = {f"a/{i}.png": assign(f"a/{i}.png", FRACTIONS) for i in range(500)}
    more = [f"b/{i}.png" for i in range(500)]
    after = {n: assign(n, FRACTIONS) for n in list(before) + more}
    assert all(after[n] == split for n, split in before.items())


def test_split_seed_gives_another_partition():
    names = [f"{i}.png" for i in range(200)]
    assert [assign(n, FRACTIONS, 0) for n in names] != [assign(n, FRACTIONS, 1) for n in names]


def test_a_zero_fraction_split_gets_nothing():
    fractions = {"train": 0.5, "val": 0.0, "test": 0.5}
    assert "val" not in {assign(f"{i}.png", fractions) for i in range(1000)}
