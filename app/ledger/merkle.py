"""RFC 9162 (Certificate Transparency 2.0, same tree as RFC 6962) Merkle trees over a county log.

Leaf ``i`` (0-based, ``seq - 1``) is an entry's ``leaf_hash``, already the RFC
9162 §2.1.1 leaf hash ``SHA-256(0x00 ‖ entry)``. The database keeps the hashes
of *perfect* subtrees: node ``(level, index)`` is the Merkle Tree Hash (MTH) of
leaves ``[index·2^level, (index+1)·2^level)``; level 0 are the leaves.

Every range whose MTH appears in RFC 9162's recursive definitions (the tree
itself, and both halves of any split at the largest power of two below the
size) is a run of at most ⌈log₂ n⌉ aligned perfect subtrees, one for each set
bit of its length, so a proof needs only O(log n) stored nodes. Nothing here
touches the database: ask :func:`nodes_for` which nodes a proof needs, fetch
them, and pass the mapping to :func:`inclusion_proof` / :func:`consistency_proof`.

Appending keeps a *frontier* (RFC 9162 §2.1 compact range of ``[0, n)``): the
perfect-subtree hashes for the set bits of ``n``, largest (leftmost) first.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from hashlib import sha256

#: MTH of the empty tree (RFC 9162 §2.1.1).
EMPTY_ROOT: bytes = sha256(b"").digest()
HASH_SIZE = 32

Node = tuple[int, int]  # (level, index)
Range = tuple[int, int]  # leaves [lo, hi)


class RangeError(ValueError):
    """A leaf range, leaf index or pair of tree sizes that no Merkle tree hash or proof is defined for:
    an empty or negative range, a leaf outside the tree, a consistency proof not within 0 < m ≤ n."""


def node_hash(left: bytes, right: bytes) -> bytes:
    """Interior node hash ``SHA-256(0x01 ‖ left ‖ right)`` (RFC 9162 §2.1.1)."""
    return sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n ≥ 2``), RFC 9162's ``k``."""
    if n < 2:
        raise RangeError(f"a tree of {n} leaves has no split")
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """Reference MTH (RFC 9162 §2.1.1) of a list of leaf hashes, computed bottom up in O(n).

    Pairing neighbours level by level and carrying an odd last node up unchanged
    builds exactly the left-balanced tree of the recursive definition.
    """
    level = list(leaves)
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        paired = [sha256(b"\x01" + a + b).digest() for a, b in zip(level[0::2], level[1::2], strict=False)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


# --- the frontier (compact range [0, n)) used when appending ----------------------------------

def frontier_coords(size: int) -> list[Node]:
    """The (level, index) perfect nodes making up the frontier of a tree of ``size`` leaves, largest first."""
    if size < 0:
        raise RangeError(f"negative tree size {size}")
    return [(level, (size >> level) - 1) for level in range(size.bit_length() - 1, -1, -1) if size >> level & 1]


def frontier_from_nodes(size: int, get: Callable[[int, int], bytes]) -> list[bytes]:
    """The frontier of a tree of ``size`` leaves, reading its nodes with ``get(level, index)``."""
    return [get(level, index) for level, index in frontier_coords(size)]


def frontier_append(frontier: list[bytes], size: int, leaf: bytes) -> tuple[list[bytes], list[tuple[int, int, bytes]]]:
    """Append leaf number ``size`` (0-based) to the frontier of a tree of ``size`` leaves.

    Returns the frontier of the tree of ``size + 1`` leaves and the perfect nodes of
    level ≥ 1 that this leaf completes, as ``(level, index, hash)``, lowest level first.
    The input list is not modified.
    """
    if size < 0 or len(frontier) != size.bit_count():
        raise ValueError(f"a frontier for size {size} has {max(size, 0).bit_count()} hashes, not {len(frontier)}")
    new = list(frontier)
    completed: list[tuple[int, int, bytes]] = []
    h, level = leaf, 0
    while size >> level & 1:  # the left sibling at this level is the frontier's last hash
        h = node_hash(new.pop(), h)
        level += 1
        completed.append((level, size >> level, h))
    new.append(h)
    return new, completed


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """MTH (RFC 9162 §2.1.1) of the tree whose frontier this is: fold right to left."""
    if not frontier:
        return EMPTY_ROOT
    h = frontier[-1]
    for s in reversed(frontier[:-1]):
        h = node_hash(s, h)
    return h


# --- ranges of leaves and the perfect nodes that hash them -------------------------------------

def perfect_subtrees(lo: int, hi: int) -> list[Node]:
    """The perfect nodes whose hashes, folded right to left, give MTH(D[lo:hi]) (RFC 9162 §2.1.1).

    One node per set bit of ``hi - lo``, largest first. ``lo`` must be a multiple of the
    largest power of two ≤ ``hi - lo`` (true of every range in RFC 9162's recursions).
    """
    n = hi - lo
    if lo < 0 or n <= 0:
        raise RangeError(f"empty or negative leaf range [{lo}, {hi})")
    if lo % (1 << (n.bit_length() - 1)):
        raise RangeError(f"leaf range [{lo}, {hi}) is not aligned to perfect subtrees")
    nodes: list[Node] = []
    for level in range(n.bit_length() - 1, -1, -1):
        if n >> level & 1:
            nodes.append((level, lo >> level))
            lo += 1 << level
    return nodes


def range_hash(lo: int, hi: int, nodes: Mapping[Node, bytes]) -> bytes:
    """MTH(D[lo:hi]) from the stored perfect-subtree hashes in ``nodes``."""
    return frontier_root([nodes[c] for c in perfect_subtrees(lo, hi)])


def nodes_for(ranges: Iterable[Range]) -> set[Node]:
    """Every perfect node needed to hash the given leaf ranges."""
    return {c for lo, hi in ranges for c in perfect_subtrees(lo, hi)}


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """Leaf ranges whose MTHs are the inclusion path PATH(index, D[size]) (RFC 9162 §2.1.3.1).

    Ordered as the RFC orders the path: the sibling nearest the leaf first.
    """
    if not 0 <= index < size:
        raise RangeError(f"leaf index {index} is not in a tree of {size} leaves")
    top_down: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:  # PATH(m, D[0:k]) : MTH(D[k:n])
            top_down.append((lo + k, hi))
            hi = lo + k
        else:  # PATH(m - k, D[k:n]) : MTH(D[0:k])
            top_down.append((lo, lo + k))
            lo += k
    return top_down[::-1]


def consistency_ranges(old_size: int, new_size: int) -> list[Range]:
    """Leaf ranges whose MTHs are PROOF(old_size, D[new_size]) = SUBPROOF(m, D[n], true) (RFC 9162 §2.1.4.1).

    Empty when the sizes are equal. RFC 9162 defines the proof for ``0 < old_size ≤ new_size``
    only: ``old_size == 0`` (the empty tree) is a :class:`RangeError` like ``old_size > new_size``.
    """
    if not 0 < old_size <= new_size:
        raise RangeError(f"no consistency proof from size {old_size} to size {new_size}")
    top_down: list[Range] = []
    lo, hi, have_root = 0, new_size, True
    while old_size != hi:
        k = _split(hi - lo)
        if old_size - lo <= k:  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            top_down.append((lo + k, hi))
            hi = lo + k
        else:  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            top_down.append((lo, lo + k))
            lo, have_root = lo + k, False
    if not have_root:  # SUBPROOF(m, D[m], false) = {MTH(D[m])}
        top_down.append((lo, hi))
    return top_down[::-1]


def inclusion_proof(index: int, size: int, nodes: Mapping[Node, bytes]) -> list[bytes]:
    """The RFC 9162 §2.1.3.1 inclusion path of leaf ``index`` in a tree of ``size`` leaves.

    ``nodes`` must hold (at least) ``nodes_for(inclusion_ranges(index, size))``.
    """
    return [range_hash(lo, hi, nodes) for lo, hi in inclusion_ranges(index, size)]


def consistency_proof(old_size: int, new_size: int, nodes: Mapping[Node, bytes]) -> list[bytes]:
    """The RFC 9162 §2.1.4.1 consistency proof between trees of ``old_size`` and ``new_size`` leaves.

    ``nodes`` must hold (at least) ``nodes_for(consistency_ranges(old_size, new_size))``.
    """
    return [range_hash(lo, hi, nodes) for lo, hi in consistency_ranges(old_size, new_size)]


# --- verification, exactly as RFC 9162 writes it -------------------------------------------------

def _is_hash(value: object) -> bool:
    return isinstance(value, bytes | bytearray) and len(value) == HASH_SIZE


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """Check an inclusion path with the algorithm of RFC 9162 §2.1.3.2. Never raises."""
    if not (_is_size(index) and _is_size(size) and _is_hash(leaf) and _is_hash(root)):
        return False
    if not all(_is_hash(p) for p in proof):
        return False
    if index >= size:  # step 1
        return False
    fn, sn = index, size - 1  # step 2
    r = bytes(leaf)  # step 3
    for p in proof:  # step 4
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root  # step 5


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """Check a consistency proof with the algorithm of RFC 9162 §2.1.4.2. Never raises.

    The RFC covers ``0 < old_size < new_size``. For equal sizes the proof must be empty and
    the roots equal; the empty tree is a prefix of every tree, so ``old_size == 0`` needs an
    empty proof and nothing else.
    """
    if not (_is_size(old_size) and _is_size(new_size) and _is_hash(old_root) and _is_hash(new_root)):
        return False
    if not all(_is_hash(p) for p in proof):
        return False
    if old_size > new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
    if not proof:  # step 1
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # step 2: old_size is a power of two
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1  # step 3
    while fn & 1:  # step 4
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == old_root and sr == new_root and sn == 0  # step 7
