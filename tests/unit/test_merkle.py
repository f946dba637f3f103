"""RFC 9162 / RFC 6962 Merkle trees: known answers, proofs from stored perfect subtrees, the append frontier."""
from __future__ import annotations

import hashlib
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ledger import merkle


def h(hex_string: str) -> bytes:
    return bytes.fromhex(hex_string)


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def children(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


# Known answers: the RFC 6962 test tree of transparency-dev/merkle (https://github.com/transparency-dev/merkle),
# copied from testonly/constants.go (LeafInputs, NodeHashes, RootHashes, CompactTrees), proof/verify_test.go
# (inclusionProofs, consistencyProofs, where leaf numbers are 1-based) and testonly/reference_test.go
# (TestRefInclusionProof, TestRefConsistencyProof). certificate-transparency-go's merkle tests use the same data.
LEAF_INPUTS = [h(x) for x in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                              "606162636465666768696a6b6c6d6e6f")]
LEAVES = [leaf_hash(x) for x in LEAF_INPUTS]
EMPTY_ROOT = h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
ROOTS = [EMPTY_ROOT] + [h(x) for x in (  # indexed by tree size
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
NODE_HASHES = [[h(x) for x in level] for level in (  # [level][index]
    ("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
     "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
     "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
     "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
     "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
     "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
     "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
    ("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
     "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    ("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",),
)]
N = NODE_HASHES
COMPACT_TREES = [[], [N[0][0]], [N[1][0]], [N[1][0], N[0][2]], [N[2][0]], [N[2][0], N[0][4]],
                 [N[2][0], N[1][2]], [N[2][0], N[1][2], N[0][6]], [N[3][0]]]
INCLUSION_VECTORS = [  # (0-based index, size, path)
    (0, 1, []),
    (0, 2, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"]),
    (1, 2, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]
CONSISTENCY_VECTORS = [  # (old size, new size, proof)
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


# --- helpers: the "database" of perfect nodes, and the RFC's recursive definitions -------------

def all_perfect_nodes(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    """Every perfect subtree hash, computed directly level by level (what the database stores)."""
    nodes = {(0, i): leaf for i, leaf in enumerate(leaves)}
    level, row = 0, list(leaves)
    while len(row) > 1:
        level, row = level + 1, [children(row[j], row[j + 1]) for j in range(0, len(row) - 1, 2)]
        nodes.update(((level, j), x) for j, x in enumerate(row))
    return nodes


def fetch(nodes: dict[tuple[int, int], bytes], ranges: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Only the nodes a proof asks for, so using any other one raises KeyError."""
    return {c: nodes[c] for c in merkle.nodes_for(ranges)}


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]), RFC 9162 §2.1.3.1, as written."""
    if len(d) == 1:
        return []
    k = 1 << ((len(d) - 1).bit_length() - 1)
    if m < k:
        return ref_path(m, d[:k]) + [merkle.root_of(d[k:])]
    return ref_path(m - k, d[k:]) + [merkle.root_of(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b), RFC 9162 §2.1.4.1, as written."""
    if m == len(d):
        return [] if b else [merkle.root_of(d)]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    if m <= k:
        return ref_subproof(m, d[:k], b) + [merkle.root_of(d[k:])]
    return ref_subproof(m - k, d[k:], False) + [merkle.root_of(d[:k])]


def random_leaves(seed: int, size: int) -> list[bytes]:
    return [leaf_hash(seed.to_bytes(8, "big") + i.to_bytes(8, "big")) for i in range(size)]


def flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1:]


def inclusion_probes(leaf, index, size, proof, root, positions=(0, 17, 31)):
    """Wrong variants of a valid inclusion claim, after transparency-dev/merkle's proof/verify_test.go."""
    probes = [(leaf, i, size, proof, root) for i in {index - 1, index + 1, index ^ 1, index ^ 2, size} - {index}]
    probes += [(leaf, index, s, proof, root) for s in (size * 2, size // 2)]
    for position in positions:
        probes += [(flip(leaf, position), index, size, proof, root), (leaf, index, size, proof, flip(root, position))]
    probes += [(leaf, index, size, proof, EMPTY_ROOT), (leaf, index, size, proof, SOME_HASH),
               (b"WrongLeaf", index, size, proof, root), (leaf, index, size, proof, b"")]
    for extra in (root, SOME_HASH, b""):
        probes += [(leaf, index, size, proof + [extra], root), (leaf, index, size, [extra] + proof, root)]
    for i in range(len(proof)):
        probes.append((leaf, index, size, proof[:i] + proof[i + 1:], root))
        probes.append((leaf, index, size, proof[:i] + [SOME_HASH] + proof[i:], root))
        for position in positions:
            probes.append((leaf, index, size, proof[:i] + [flip(proof[i], position)] + proof[i + 1:], root))
    return probes


def consistency_probes(old, new, old_root, new_root, proof, positions=(0, 17, 31)):
    """Wrong variants of a valid consistency claim, after transparency-dev/merkle's proof/verify_test.go."""
    probes = [(m, new, old_root, new_root, proof) for m in {old - 1, old + 1, old ^ 2} - {old}]
    probes += [(old, n, old_root, new_root, proof) for n in (new * 2, new // 2)]
    for position in positions:
        probes += [(old, new, flip(old_root, position), new_root, proof),
                   (old, new, old_root, flip(new_root, position), proof)]
    probes += [(old, new, new_root, old_root, proof), (old, new, b"WrongRoot", new_root, proof),
               (old, new, old_root, b"WrongRoot", proof), (old, new, old_root, new_root, [])]
    for extra in (old_root, new_root, SOME_HASH, b""):
        probes += [(old, new, old_root, new_root, proof + [extra]), (old, new, old_root, new_root, [extra] + proof)]
    probes.append((old, new, old_root, new_root, proof[:1] + proof))
    for i in range(len(proof)):
        probes.append((old, new, old_root, new_root, proof[:i] + proof[i + 1:]))
        probes.append((old, new, old_root, new_root, proof[:i] + [SOME_HASH] + proof[i:]))
        for position in positions:
            probes.append((old, new, old_root, new_root, proof[:i] + [flip(proof[i], position)] + proof[i + 1:]))
    return probes


# --- known answers ------------------------------------------------------------------------------

def test_empty_root_and_node_hash():
    assert merkle.EMPTY_ROOT == EMPTY_ROOT == merkle.root_of([]) == merkle.frontier_root([])
    assert merkle.node_hash(N[0][0], N[0][1]) == N[1][0]


@pytest.mark.parametrize("size", range(9))
def test_roots_match_the_reference_tree(size):
    assert merkle.root_of(LEAVES[:size]) == ROOTS[size]
    assert merkle.frontier_root(COMPACT_TREES[size]) == ROOTS[size]
    if size:
        assert merkle.range_hash(0, size, all_perfect_nodes(LEAVES[:size])) == ROOTS[size]


def test_leaf_hashes_are_the_reference_level_zero():
    assert LEAVES == NODE_HASHES[0]


def test_frontier_and_completed_nodes_match_the_reference_tree():
    frontier: list[bytes] = []
    completed = {}
    for size, leaf in enumerate(LEAVES):
        frontier, done = merkle.frontier_append(frontier, size, leaf)
        completed.update(((level, index), x) for level, index, x in done)
        assert frontier == COMPACT_TREES[size + 1]
    assert completed == {(level, j): x for level, row in enumerate(NODE_HASHES) if level for j, x in enumerate(row)}


@pytest.mark.parametrize("index, size, expected", INCLUSION_VECTORS)
def test_inclusion_proofs_match_the_reference(index, size, expected):
    expected = [h(x) for x in expected]
    stored = fetch(all_perfect_nodes(LEAVES[:size]), merkle.inclusion_ranges(index, size))
    assert merkle.inclusion_proof(index, size, stored) == expected
    assert merkle.verify_inclusion(LEAVES[index], index, size, expected, ROOTS[size])
    for probe in inclusion_probes(LEAVES[index], index, size, expected, ROOTS[size]):
        assert not merkle.verify_inclusion(*probe), probe


@pytest.mark.parametrize("old, new, expected", CONSISTENCY_VECTORS)
def test_consistency_proofs_match_the_reference(old, new, expected):
    expected = [h(x) for x in expected]
    stored = fetch(all_perfect_nodes(LEAVES[:new]), merkle.consistency_ranges(old, new))
    assert merkle.consistency_proof(old, new, stored) == expected
    assert merkle.verify_consistency(old, new, ROOTS[old], ROOTS[new], expected)
    if expected:
        for probe in consistency_probes(old, new, ROOTS[old], ROOTS[new], expected):
            assert not merkle.verify_consistency(*probe), probe


def test_verify_inclusion_single_entry_and_bad_sizes():
    leaf = leaf_hash(b"data")
    assert merkle.verify_inclusion(leaf, 0, 1, [], leaf)
    assert not merkle.verify_inclusion(leaf, 0, 1, [], b"")
    assert not merkle.verify_inclusion(b"", 0, 1, [], leaf)
    assert not merkle.verify_inclusion(b"", 0, 1, [], b"")
    for index, size in ((0, 0), (1, 0), (2, 1), (1, 1), (-1, 1), (0, -1)):
        for leaf_, root in ((SOME_HASH, EMPTY_ROOT), (SOME_HASH, SOME_HASH), (SOME_HASH, b"")):
            assert not merkle.verify_inclusion(leaf_, index, size, [], root)
    assert not merkle.verify_inclusion(leaf, 0, 2, ["not bytes"], leaf)
    assert not merkle.verify_inclusion(leaf, 0, 2, [None], leaf)


@pytest.mark.parametrize("old, new, old_root, new_root, proof, ok", [
    (0, 0, EMPTY_ROOT, EMPTY_ROOT, [], True),
    (0, 0, EMPTY_ROOT, SOME_HASH, [], False),
    (0, 1, EMPTY_ROOT, ROOTS[1], [], True),
    (0, 1, EMPTY_ROOT, ROOTS[1], [EMPTY_ROOT], False),
    (1, 1, ROOTS[1], ROOTS[1], [], True),
    (1, 1, ROOTS[1], ROOTS[2], [], False),
    (1, 1, ROOTS[1], ROOTS[1], [EMPTY_ROOT], False),
    (1, 0, ROOTS[1], EMPTY_ROOT, [], False),
    (2, 1, ROOTS[2], ROOTS[1], [], False),
    (1, 2, ROOTS[1], ROOTS[2], [], False),
    (1, 2, ROOTS[1], ROOTS[2], [LEAVES[1]], True),
    (-1, 2, ROOTS[1], ROOTS[2], [LEAVES[1]], False),
    (1, 2, ROOTS[1], ROOTS[2], [LEAVES[1][:31]], False),
])
def test_verify_consistency_edge_cases(old, new, old_root, new_root, proof, ok):
    assert merkle.verify_consistency(old, new, old_root, new_root, proof) is ok


# --- proofs from stored perfect nodes, for random trees ----------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))),
       st.integers(0, 2**63), st.integers(0, 31))
def test_inclusion_proofs_from_stored_nodes_verify_and_resist_tampering(size_index, seed, position):
    size, index = size_index
    leaves = random_leaves(seed, size)
    root = merkle.root_of(leaves)
    proof = merkle.inclusion_proof(index, size, fetch(all_perfect_nodes(leaves), merkle.inclusion_ranges(index, size)))
    assert proof == ref_path(index, leaves)
    assert merkle.verify_inclusion(leaves[index], index, size, proof, root)
    for probe in inclusion_probes(leaves[index], index, size, proof, root, (0, position, 31)):
        assert not merkle.verify_inclusion(*probe), probe


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))), st.integers(0, 2**63),
       st.integers(0, 31))
def test_consistency_proofs_from_stored_nodes_verify_and_resist_tampering(sizes, seed, position):
    old, new = sizes
    leaves = random_leaves(seed, new)
    old_root, new_root = merkle.root_of(leaves[:old]), merkle.root_of(leaves)
    proof = merkle.consistency_proof(old, new, fetch(all_perfect_nodes(leaves), merkle.consistency_ranges(old, new)))
    assert proof == ref_subproof(old, leaves, True)
    assert merkle.verify_consistency(old, new, old_root, new_root, proof)
    if old < new:
        for probe in consistency_probes(old, new, old_root, new_root, proof, (0, position, 31)):
            assert not merkle.verify_consistency(*probe), probe


def test_every_proof_in_small_trees():
    leaves = random_leaves(7, 48)
    nodes = all_perfect_nodes(leaves)
    roots = [merkle.root_of(leaves[:n]) for n in range(len(leaves) + 1)]
    for new in range(1, len(leaves) + 1):
        for index in range(new):
            proof = merkle.inclusion_proof(index, new, fetch(nodes, merkle.inclusion_ranges(index, new)))
            assert proof == ref_path(index, leaves[:new])
            assert merkle.verify_inclusion(leaves[index], index, new, proof, roots[new])
        for old in range(1, new + 1):
            proof = merkle.consistency_proof(old, new, fetch(nodes, merkle.consistency_ranges(old, new)))
            assert proof == ref_subproof(old, leaves[:new], True)
            assert merkle.verify_consistency(old, new, roots[old], roots[new], proof)


# --- the append frontier ---------------------------------------------------------------------

@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**63))
def test_frontier_tracks_the_tree_one_append_at_a_time(seed):
    leaves = random_leaves(seed, 300)
    nodes = all_perfect_nodes(leaves)
    frontier: list[bytes] = []
    reported = {}
    for size, leaf in enumerate(leaves):
        given_frontier, snapshot = frontier, list(frontier)
        frontier, completed = merkle.frontier_append(given_frontier, size, leaf)
        assert given_frontier == snapshot  # the input list is left alone
        assert [level for level, _, _ in completed] == list(range(1, len(completed) + 1))
        for level, index, x in completed:
            assert (index + 1) << level == size + 1  # completed by exactly this leaf
            assert x == nodes[level, index] == merkle.root_of(leaves[index << level:(index + 1) << level])
            reported[level, index] = x
        assert merkle.frontier_root(frontier) == merkle.root_of(leaves[:size + 1])
        assert merkle.frontier_from_nodes(size + 1, lambda level, index: nodes[level, index]) == frontier
        assert merkle.frontier_coords(size + 1) == merkle.perfect_subtrees(0, size + 1)
    assert reported == {c: x for c, x in nodes.items() if c[0] >= 1}


def test_frontier_append_leaves_its_input_alone():
    frontier = [N[1][0]]
    new, completed = merkle.frontier_append(frontier, 2, LEAVES[2])
    assert frontier == [N[1][0]] and new == [N[1][0], N[0][2]] and completed == []
    new, completed = merkle.frontier_append(new, 3, LEAVES[3])
    assert new == [N[2][0]] and completed == [(1, 1, N[1][1]), (2, 0, N[2][0])]


def test_root_of_many_leaves_equals_the_folded_frontier():
    leaves = [os.urandom(32) for _ in range(2**16 + 5)]
    frontier: list[bytes] = []
    for size, leaf in enumerate(leaves):
        frontier, _ = merkle.frontier_append(frontier, size, leaf)
        if size + 1 in (2**16, 2**16 + 5):
            assert merkle.frontier_root(frontier) == merkle.root_of(leaves[:size + 1])


# --- how many stored nodes a proof reads ----------------------------------------------------

def test_proofs_read_few_nodes_in_a_million_leaf_tree():
    n = 10**6
    bound = 2 * n.bit_length()
    for index in (0, 1, 2, 12345, n // 2, 524287, 524288, 999_999 - 64, n - 2, n - 1):
        ranges = merkle.inclusion_ranges(index, n)
        assert len(ranges) <= n.bit_length()
        assert all(len(merkle.perfect_subtrees(lo, hi)) <= bound for lo, hi in ranges)
        assert len(merkle.nodes_for(ranges)) <= bound < 400
    for old in (1, 2, 3, 1000, 65536, 65537, 524287, 524288, 524289, 999_999, n):
        ranges = merkle.consistency_ranges(old, n)
        assert all(len(merkle.perfect_subtrees(lo, hi)) <= bound for lo, hi in ranges)
        assert len(merkle.nodes_for(ranges)) <= bound < 400
    assert len(merkle.perfect_subtrees(0, n)) == n.bit_count()


def test_perfect_subtrees_cover_the_range_in_order():
    assert merkle.perfect_subtrees(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert merkle.perfect_subtrees(8, 13) == [(2, 2), (0, 12)]
    assert merkle.perfect_subtrees(16, 32) == [(4, 1)]
    assert merkle.perfect_subtrees(5, 6) == [(0, 5)]


@pytest.mark.parametrize("call", [
    lambda: merkle.perfect_subtrees(3, 3),
    lambda: merkle.perfect_subtrees(4, 3),
    lambda: merkle.perfect_subtrees(-2, 0),
    lambda: merkle.perfect_subtrees(2, 6),  # 4 leaves from 2 are not one perfect subtree
    lambda: merkle.perfect_subtrees(6, 10),  # leaves 6..9 are not one perfect subtree
    lambda: merkle.inclusion_ranges(0, 0),
    lambda: merkle.inclusion_ranges(5, 5),
    lambda: merkle.inclusion_ranges(-1, 5),
    lambda: merkle.consistency_ranges(0, 5),
    lambda: merkle.consistency_ranges(6, 5),
    lambda: merkle.consistency_ranges(-1, 5),
    lambda: merkle.frontier_append([], 1, LEAVES[0]),
    lambda: merkle.frontier_append([N[0][0], N[0][1]], 2, LEAVES[2]),
    lambda: merkle.frontier_coords(-1),
])
def test_value_errors(call):
    with pytest.raises(ValueError):
        call()


def test_proofs_need_their_nodes():
    with pytest.raises(KeyError):
        merkle.inclusion_proof(3, 8, {})


@pytest.mark.parametrize("call", [
    lambda: merkle.perfect_subtrees(0, 0),
    lambda: merkle.range_hash(0, 0, {}),
    lambda: merkle.nodes_for([(0, 0)]),
    lambda: merkle.consistency_ranges(0, 0),
    lambda: merkle.consistency_proof(0, 5, {}),
    lambda: merkle.consistency_proof(0, 0, {}),
    lambda: merkle.consistency_proof(6, 5, {}),
    lambda: merkle.inclusion_proof(0, 0, {}),
    lambda: merkle.frontier_coords(-1),
])
def test_an_empty_range_or_a_proof_outside_0_lt_m_le_n_is_a_range_error(call):
    """Callers (the proof endpoints) tell these apart from a bug: a RangeError is the request's fault."""
    with pytest.raises(merkle.RangeError):
        call()
