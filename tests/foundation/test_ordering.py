import numpy as np
import pytest

import crossbar
from crossbar.ordering import geometric_nested_dissection
from devices import Wires
from netlists import build_crossbar


def _system(N=48, wires=Wires(2.5, 2.5, 2.5)):
    rng = np.random.default_rng(4)
    A = np.zeros((4, N), bool)
    A[np.arange(N) % 4, np.arange(N)] = True
    return crossbar.prepare(build_crossbar(rng.uniform(1e-6, 1e-4, (N, N)), A, rng.uniform(0, 0.2, N), wires=wires))


def test_is_a_permutation_and_used_by_the_solver():
    s = _system()
    assert s.perm is not None
    np.testing.assert_array_equal(np.sort(s.perm), np.arange(s.free.size))


def test_separators_are_valid():
    """Every top-level split: no matrix edge joins the two halves (else fill explodes)."""
    s = _system()
    xy = np.asarray(s.netlist.layout.node_xy)[s.free]
    p = geometric_nested_dissection(xy, s.Gff, leaf=s.free.size // 3)
    # with a large leaf there are exactly three blocks: left, right, separator (last)
    pos = np.empty_like(p)
    pos[p] = np.arange(p.size)
    coo = s.Gff.tocoo()
    n = p.size
    # find the separator: the trailing block; recompute the split the function made
    xs = xy[:, 0]
    m = int(np.clip(np.rint(np.median(xs)), xs.min() + 1, xs.max() - 1))
    left_nodes = set(np.flatnonzero(xs < m).tolist())
    right_nodes = set(np.flatnonzero(xs > m).tolist())
    for a, b in zip(coo.row.tolist(), coo.col.tolist()):
        assert not (a in left_nodes and b in right_nodes)
    assert n == s.free.size


def _flops(A):
    """Factorization work of A in its given order: sum of squared column counts of L."""
    from sksparse.cholmod import analyze

    L = analyze(A, ordering_method="natural", mode="simplicial").cholesky(A).L().tocsc()
    c = np.diff(L.indptr).astype(float)
    return float((c * c).sum())


@pytest.mark.skipif(not crossbar.HAVE_CHOLMOD, reason="needs CHOLMOD to count fill")
def test_less_work_than_amd():
    from sksparse.cholmod import analyze

    s = _system(64)
    nd = _flops(s.Gff.tocsr()[s.perm][:, s.perm].tocsc())
    amd_perm = analyze(s.Gff, ordering_method="amd", mode="simplicial").P()
    amd = _flops(s.Gff.tocsr()[amd_perm][:, amd_perm].tocsc())
    assert nd < amd


def test_zero_bitline_wires_fall_back_to_amd():
    # merged bitline nodes: a cell at row i joins column bottom (j, R), many rows away.
    # (Zero wordline wires do not: the merged wordline is the driven node, not an unknown.)
    s = _system(40, wires=Wires(2.5, 0.0, 2.5))
    assert s.perm is None
    ds = s.solve()
    assert ds.attrs["ordering"] == "amd"


def test_invalid_coordinates_return_none():
    import scipy.sparse as sp

    A = sp.csr_matrix(np.array([[2.0, -1, 0], [-1, 2, -1], [0, -1, 2]]))
    assert geometric_nested_dissection(np.array([[0, 0], [2, 0], [3, 0]]), A) is None
    assert geometric_nested_dissection(None, A) is None
