"""Compiled loops of the grid signed distance (numba): exact point-triangle distances at grid
nodes near the mesh, and trilinear interpolation of the grid at every ion.

``band_distances`` finds each point's nearest triangle among the triangles bucketed in a
uniform cell grid (``bucket_triangles``), visiting cells in rings of growing Chebyshev radius
and skipping every cell, triangle box and triangle plane farther than the best distance so far:
the result is the nearest face over the whole mesh (ties: the lower face index). The
closest-point formulas and the region order are those of
``synthapt.spatial.mesh_distance.closest_point_on_triangles`` (Ericson 5.1.5), the sign that of
``MeshDistance`` (feature pseudo-normals). ``interpolate_grid`` is
``scipy.ndimage.map_coordinates(order=1, mode="nearest")`` at float32 grid coordinates
``(p - origin) * (1 / spacing)``, accumulated in float64.

Loops over points run in parallel (``prange``: every point writes its own output), so results do
not depend on the thread count. The loops are plain Python here; ``compiled()`` imports numba (a
slow import, so only on first use) and compiles them, with the machine code cached on disk.
"""

from __future__ import annotations

import functools
import math
from types import SimpleNamespace

import numpy as np

JIT = {"nogil": True, "cache": True, "error_model": "numpy"}  # no fastmath: float ops as numpy's
prange = range  # numba.prange once compiled (parallel loops)
PARALLEL = ("band_distances", "far_field", "interpolate_grid")
SERIAL = ("bucket_triangles", "dilate_nodes")
BLOCK = 64  # points per block of ``band_distances``
PREFETCH = 16  # points ahead whose field lines ``interpolate_grid`` prefetches
HELPERS = ("_prefetch_cell", "closest_on_triangle", "_nearest_face", "_ratio", "_box_d2", "_bounds_d2",
           "_gap", "_cell", "_cell_of")


@functools.cache
def _compile() -> SimpleNamespace:
    import numba  # heavy third-party import, on first use only

    globals()["prange"] = numba.prange
    globals()["prefetch"] = _prefetch_intrinsic()
    def plain(name):  # the Python function, also if a racing first call compiled it already
        return getattr(globals()[name], "py_func", globals()[name])

    for name in HELPERS:  # the loops call these by their global names
        globals()[name] = numba.njit(**JIT)(plain(name))
    loops = {name: numba.njit(parallel=True, **JIT)(plain(name)) for name in PARALLEL}
    loops.update({name: numba.njit(**JIT)(plain(name)) for name in SERIAL})
    return SimpleNamespace(set_num_threads=numba.set_num_threads,
                           max_threads=numba.config.NUMBA_NUM_THREADS, **loops)


def _prefetch_intrinsic():
    """``prefetch(array, i, j, k)`` for compiled loops: LLVM's cache prefetch (read, keep) of
    ``array[i, j, k]``, a hint with no effect on results."""
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    @intrinsic
    def prefetch_item(typingctx, array, i, j, k):
        def codegen(context, builder, signature, args):
            array_type = signature.args[0]
            view = context.make_array(array_type)(context, builder, args[0])
            pointer = cgutils.get_item_pointer(context, builder, array_type, view, list(args[1:]),
                                               wraparound=False)
            byte_pointer = ir.IntType(8).as_pointer()
            i32 = ir.IntType(32)
            function = cgutils.get_or_insert_function(builder.module, ir.FunctionType(
                ir.VoidType(), [byte_pointer, i32, i32, i32]), "llvm.prefetch.p0i8")
            builder.call(function, [builder.bitcast(pointer, byte_pointer), i32(0), i32(3), i32(1)])
            return context.get_dummy_value()
        return types.void(array, i, j, k), codegen

    return prefetch_item


def prefetch(array, i, j, k):
    """Cache prefetch of array[i, j, k] in compiled loops (``_prefetch_intrinsic``); a no-op here."""


def compiled(threads: int = 1) -> SimpleNamespace:
    """The compiled loops (attributes named as the functions below), set to run on ``threads``."""
    loops = _compile()
    loops.set_num_threads(max(1, min(int(threads), loops.max_threads)))
    return loops


def closest_on_triangle(px, py, pz, face, packed):
    """Closest point of triangle ``face`` to p (nm). packed: (F, 12) float64 rows a, ab = b - a,
    ac = c - a, |ab|^2, ab.ac, |ac|^2. Returns (qx, qy, qz, squared distance nm^2, feature code
    0 face, 1/2/3 vertex a/b/c, 4/5/6 edge ab/ac/bc)."""
    apx, apy, apz = px - packed[face, 0], py - packed[face, 1], pz - packed[face, 2]
    d1 = packed[face, 3] * apx + packed[face, 4] * apy + packed[face, 5] * apz
    d2 = packed[face, 6] * apx + packed[face, 7] * apy + packed[face, 8] * apz
    d3, d4 = d1 - packed[face, 9], d2 - packed[face, 10]
    d5, d6 = d1 - packed[face, 10], d2 - packed[face, 11]
    if d1 <= 0.0 and d2 <= 0.0:
        s, t, feature = 0.0, 0.0, 1
    elif d3 >= 0.0 and d4 <= d3:
        s, t, feature = 1.0, 0.0, 2
    elif d1 * d4 - d3 * d2 <= 0.0 and d1 >= 0.0 and d3 <= 0.0:
        s, t, feature = _ratio(d1, d1 - d3), 0.0, 4
    elif d6 >= 0.0 and d5 <= d6:
        s, t, feature = 0.0, 1.0, 3
    elif d5 * d2 - d1 * d6 <= 0.0 and d2 >= 0.0 and d6 <= 0.0:
        s, t, feature = 0.0, _ratio(d2, d2 - d6), 5
    elif d3 * d6 - d5 * d4 <= 0.0 and d4 - d3 >= 0.0 and d5 - d6 >= 0.0:
        u = _ratio(d4 - d3, (d4 - d3) + (d5 - d6))
        s, t, feature = 1.0 - u, u, 6
    else:
        va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
        denom = va + vb + vc
        s = vb / denom if denom != 0.0 else 0.0
        t = vc / denom if denom != 0.0 else 0.0
        feature = 0
    qx = packed[face, 0] + packed[face, 3] * s + packed[face, 6] * t
    qy = packed[face, 1] + packed[face, 4] * s + packed[face, 7] * t
    qz = packed[face, 2] + packed[face, 5] * s + packed[face, 8] * t
    return qx, qy, qz, (px - qx) ** 2 + (py - qy) ** 2 + (pz - qz) ** 2, feature


def _ratio(num, den):
    """num / den clipped to [0, 1]; 0 for a zero denominator (degenerate edge)."""
    if den == 0.0:
        return 0.0
    return min(max(num / den, 0.0), 1.0)


def bucket_triangles(box_lo, box_hi, cell_lo, cell_size, dims):
    """Triangles per cell of a uniform grid (cells of ``cell_size`` nm from ``cell_lo`` (3,) nm,
    ``dims`` (3,) int64 cells): every triangle is listed in each cell its bounding box
    [box_lo, box_hi] (F, 3) nm touches, clamped to the grid. Returns CSR arrays: start (C + 1,)
    int64 and entries (start[-1],) int64 face indices, in increasing order within each cell."""
    n_cells = dims[0] * dims[1] * dims[2]
    count = np.zeros(n_cells + 1, dtype=np.int64)
    ranges = np.empty((box_lo.shape[0], 6), dtype=np.int64)
    for f in range(box_lo.shape[0]):
        for k in range(3):
            ranges[f, k] = min(max(int(math.floor((box_lo[f, k] - cell_lo[k]) / cell_size)), 0), dims[k] - 1)
            ranges[f, 3 + k] = min(max(int(math.floor((box_hi[f, k] - cell_lo[k]) / cell_size)), 0), dims[k] - 1)
        for i in range(ranges[f, 0], ranges[f, 3] + 1):
            for j in range(ranges[f, 1], ranges[f, 4] + 1):
                for k in range(ranges[f, 2], ranges[f, 5] + 1):
                    count[(i * dims[1] + j) * dims[2] + k + 1] += 1
    for c in range(n_cells):
        count[c + 1] += count[c]
    fill = count[:-1].copy()
    entries = np.empty(count[n_cells], dtype=np.int64)
    for f in range(box_lo.shape[0]):
        for i in range(ranges[f, 0], ranges[f, 3] + 1):
            for j in range(ranges[f, 1], ranges[f, 4] + 1):
                for k in range(ranges[f, 2], ranges[f, 5] + 1):
                    cell = (i * dims[1] + j) * dims[2] + k
                    entries[fill[cell]] = f
                    fill[cell] += 1
    return count, entries


def band_distances(points, packed, bounds, feature_normals, cell_lo, cell_size, dims, start,
                   entries, dist, foot):
    """Exact signed distance (nm, positive inside) of points (N, 3) float64 nm to the bucketed
    triangles, written to dist (N,) and their closest mesh points to foot (N, 3) nm.

    packed: (F, 12) face rows (``closest_on_triangle``); feature_normals: (F, 7, 3) face, vertex
    and edge pseudo-normals; start, entries: the buckets (``bucket_triangles``) of cells
    ``cell_size`` nm from ``cell_lo`` (3,) nm, ``dims`` (3,) cells; bounds: (entries, 10) per
    entry the triangle's bounding box lo, hi (nm), unit normal n and plane offset n . a (nm).
    Points run in blocks of ``BLOCK`` (in parallel); within a block each point starts from the
    previous point's nearest face (a close bound for neighbouring grid nodes), which changes
    only the work, not the result."""
    n_points = points.shape[0]
    for block in prange((n_points + BLOCK - 1) // BLOCK):
        seed = -1
        for n in range(block * BLOCK, min((block + 1) * BLOCK, n_points)):
            px, py, pz = points[n, 0], points[n, 1], points[n, 2]
            best, face, feature, qx, qy, qz = _nearest_face(px, py, pz, seed, packed, bounds, cell_lo,
                                                            cell_size, dims, start, entries)
            side = ((px - qx) * feature_normals[face, feature, 0] + (py - qy) * feature_normals[face, feature, 1]
                    + (pz - qz) * feature_normals[face, feature, 2])
            dist[n] = -math.sqrt(best) if side > 0.0 else math.sqrt(best)
            foot[n, 0], foot[n, 1], foot[n, 2] = qx, qy, qz
            seed = face


def _nearest_face(px, py, pz, seed, packed, bounds, cell_lo, cell_size, dims, start, entries):
    """(squared distance nm^2, face, feature code, closest point) of p's nearest face: cells in
    rings of growing Chebyshev radius around p's cell until a ring lies beyond the best so far;
    cells, triangle boxes and planes beyond the best are skipped. seed: a face to start from, or
    -1."""
    ci, gi = _cell_of(px, cell_lo[0], cell_size, dims[0])
    cj, gj = _cell_of(py, cell_lo[1], cell_size, dims[1])
    ck, gk = _cell_of(pz, cell_lo[2], cell_size, dims[2])
    gap = min(gi, min(gj, gk))  # distance from p to the walls of its own cell
    best, best_face, best_feature = np.inf, -1, 0
    bx, by, bz = 0.0, 0.0, 0.0
    if seed >= 0:
        bx, by, bz, best, best_feature = closest_on_triangle(px, py, pz, seed, packed)
        best_face = seed
    for ring in range(max(dims[0], max(dims[1], dims[2])) + 1):
        reach = (ring - 1) * cell_size + gap  # every cell of this ring is at least this far
        if ring > 0 and reach > 0.0 and reach * reach > best:
            break
        for i in range(max(ci - ring, 0), min(ci + ring + 1, dims[0])):
            for j in range(max(cj - ring, 0), min(cj + ring + 1, dims[1])):
                # inside the shell only the two end cells of each k column
                step = 1 if abs(i - ci) == ring or abs(j - cj) == ring else max(2 * ring, 1)
                for k in range(ck - ring, ck + ring + 1, step):
                    if k < 0 or k >= dims[2]:
                        continue
                    cell = (i * dims[1] + j) * dims[2] + k
                    if start[cell] == start[cell + 1] or _box_d2(px, py, pz, cell_lo, cell_size, i, j, k) > best:
                        continue
                    for e in range(start[cell], start[cell + 1]):
                        if _bounds_d2(px, py, pz, bounds, e) > best:
                            continue
                        f = entries[e]
                        qx, qy, qz, d2, feature = closest_on_triangle(px, py, pz, f, packed)
                        if d2 < best or (d2 == best and f < best_face):
                            best, best_face, best_feature = d2, f, feature
                            bx, by, bz = qx, qy, qz
    return best, best_face, best_feature, bx, by, bz


def _cell_of(x, lo, cell_size, n):
    """Cell index (clamped to 0..n-1) of coordinate x (nm) and its distance (nm) to the walls of
    that cell (0 when x lies outside the cell)."""
    u = (x - lo) / cell_size
    c = min(max(int(math.floor(u)), 0), n - 1)
    return c, max(min(u - c, c + 1.0 - u), 0.0) * cell_size


def _box_d2(px, py, pz, cell_lo, cell_size, i, j, k):
    """Squared distance (nm^2) from p to cell (i, j, k)."""
    return (_gap(px, cell_lo[0] + i * cell_size, cell_lo[0] + (i + 1) * cell_size) ** 2
            + _gap(py, cell_lo[1] + j * cell_size, cell_lo[1] + (j + 1) * cell_size) ** 2
            + _gap(pz, cell_lo[2] + k * cell_size, cell_lo[2] + (k + 1) * cell_size) ** 2)


def _bounds_d2(px, py, pz, bounds, e):
    """Lower bound (nm^2) of the squared distance from p to the triangle of bucket entry e: the
    larger of its squared distances to the triangle's bounding box and to its plane."""
    box = (_gap(px, bounds[e, 0], bounds[e, 3]) ** 2 + _gap(py, bounds[e, 1], bounds[e, 4]) ** 2
           + _gap(pz, bounds[e, 2], bounds[e, 5]) ** 2)
    plane = px * bounds[e, 6] + py * bounds[e, 7] + pz * bounds[e, 8] - bounds[e, 9]
    return max(box, plane * plane)


def _gap(x, lo, hi):
    return lo - x if x < lo else (x - hi if x > hi else 0.0)


def dilate_nodes(seeds, offsets, out):
    """Set out[seed + offset] = True (nx, ny, nz) for every seed node (S, 3) int64 and offset
    (O, 3) int64 that lands inside the grid."""
    nx, ny, nz = out.shape
    for s in range(seeds.shape[0]):
        for o in range(offsets.shape[0]):
            i, j, k = seeds[s, 0] + offsets[o, 0], seeds[s, 1] + offsets[o, 1], seeds[s, 2] + offsets[o, 2]
            if 0 <= i < nx and 0 <= j < ny and 0 <= k < nz:
                out[i, j, k] = True


def far_field(field, owner, nearest, lo, spacing, foot, normal, length, sign):
    """Fill field (nx, ny, nz) float32 at the nodes where owner (nx, ny, nz) int32 is -1 from the
    exact node owner[nearest[:, i, j, k]] (nearest: (3, nx, ny, nz) int32 grid indices): distance
    to its foot (B, 3) float32 nm along its unit normal (B, 3) float32 when within ~18 degrees of
    it (length (B,) float32 > 1e-6), else straight, with its sign (B,) float32; all in float32
    (node offsets from lo (3,) float64 nm and float32 ``spacing``), as ``_far_field`` computes."""
    nx, ny, nz = field.shape
    for i in prange(nx):
        for j in range(ny):
            for k in range(nz):
                if owner[i, j, k] >= 0:
                    continue
                src = owner[nearest[0, i, j, k], nearest[1, i, j, k], nearest[2, i, j, k]]
                o0 = np.float32(lo[0] + np.float32(i) * spacing) - foot[src, 0]
                o1 = np.float32(lo[1] + np.float32(j) * spacing) - foot[src, 1]
                o2 = np.float32(lo[2] + np.float32(k) * spacing) - foot[src, 2]
                along = abs(o0 * normal[src, 0] + o1 * normal[src, 1] + o2 * normal[src, 2])
                direct = np.float32(math.sqrt(o0 * o0 + o1 * o1 + o2 * o2))
                value = direct
                if length[src] > np.float32(1e-6) and along >= np.float32(0.95) * direct:
                    value = min(along, direct)
                field[i, j, k] = value * sign[src]


def interpolate_grid(points, origin, scale, field, out):
    """Trilinear interpolation of field (nx, ny, nz) float32 at points (N, 3) nm into out (N,):
    grid coordinates (p - origin) * scale in float32 (origin (3,) float32 nm, scale float32
    1/nm), clamped to the grid (the edge values continue outside), weights and sum in float64.
    The field lines of the point ``PREFETCH`` places ahead are prefetched: points in random order
    (each a cache miss in a field larger than the cache) run 2-3 x faster."""
    nx, ny, nz = field.shape
    n_points = points.shape[0]
    for n in prange(n_points):
        if n + PREFETCH < n_points:
            _prefetch_cell(points, n + PREFETCH, origin, scale, field)
        x = np.float64(np.float32(points[n, 0] - origin[0]) * scale)
        y = np.float64(np.float32(points[n, 1] - origin[1]) * scale)
        z = np.float64(np.float32(points[n, 2] - origin[2]) * scale)
        if not (x == x and y == y and z == z):
            out[n] = np.nan
            continue
        i, tx = _cell(x, nx)
        j, ty = _cell(y, ny)
        k, tz = _cell(z, nz)
        i1, j1, k1 = min(i + 1, nx - 1), min(j + 1, ny - 1), min(k + 1, nz - 1)
        ux, uy, uz = 1.0 - tx, 1.0 - ty, 1.0 - tz
        out[n] = (ux * (uy * (uz * np.float64(field[i, j, k]) + tz * np.float64(field[i, j, k1]))
                        + ty * (uz * np.float64(field[i, j1, k]) + tz * np.float64(field[i, j1, k1])))
                  + tx * (uy * (uz * np.float64(field[i1, j, k]) + tz * np.float64(field[i1, j, k1]))
                          + ty * (uz * np.float64(field[i1, j1, k]) + tz * np.float64(field[i1, j1, k1]))))


def _prefetch_cell(points, n, origin, scale, field):
    """Prefetch the four field lines (k and k + 1 share one) of point n's grid cell."""
    nx, ny, nz = field.shape
    x = (points[n, 0] - origin[0]) * scale
    y = (points[n, 1] - origin[1]) * scale
    z = (points[n, 2] - origin[2]) * scale
    if x == x and y == y and z == z:
        i, _ = _cell(np.float64(x), nx)
        j, _ = _cell(np.float64(y), ny)
        k, _ = _cell(np.float64(z), nz)
        i1, j1 = min(i + 1, nx - 1), min(j + 1, ny - 1)
        prefetch(field, i, j, k)
        prefetch(field, i, j1, k)
        prefetch(field, i1, j, k)
        prefetch(field, i1, j1, k)


def _cell(x, n):
    """Lower node index and weight of the upper node for grid coordinate x on n nodes."""
    x = min(max(x, 0.0), n - 1.0)
    i = min(int(math.floor(x)), max(n - 2, 0))
    return i, x - i

