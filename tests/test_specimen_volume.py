"""The analysed specimen volume: masks, mesh clipping, cropped edge detection on needles."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from segment_phantoms import needle_height, needle_phantom, phantom, slab_distance
from synthapt.data import NO_PHASE
from synthapt.errors import ConfigError
from synthapt.io.summary import format_summary, summarize_segmentation
from synthapt.edges.detectors import get_detector
from synthapt.segmentation.edge import edge_field
from synthapt.segmentation.iso import iso_segment
from synthapt.segmentation.methods import run_method, method_params
from synthapt.segmentation.params import SegmentParams
from synthapt.spatial.mesh import interface_mesh
from synthapt.spatial.volume import clip_mesh, occupied_bounds, specimen_volume
from synthapt.spatial.voxel import flat_voxel_index, voxelize

APEX, ANGLE, IONS = 5.0, 10.0, 120_000


def _needle(lobes: float = 0.0, seed: int = 3):
    """A needle with a flat interface at mid-height (precipitate above): dataset, plane height,
    the true interface area inside the specimen (nm^2)."""
    height = needle_height(IONS / 35.0, APEX, ANGLE)
    z0 = 0.5 * height
    ds = needle_phantom(n_ions=IONS, apex_radius=APEX, shank_angle=ANGLE, height=height,
                        signed_distance=lambda p: p[:, 2] - z0, lobes=lobes, seed=seed)
    radius = APEX + (height - APEX - z0) * np.tan(np.radians(ANGLE))
    # area of the outline r(theta) = R (1 + lobes sin 3 theta): pi R^2 (1 + lobes^2 / 2)
    return ds, z0, np.pi * radius**2 * (1.0 + lobes**2 / 2)


@pytest.fixture(scope="module")
def needle():
    return _needle()


def test_mask_holds_every_ion_and_leaves_the_empty_box_out(needle):
    ds, _, _ = needle
    grid = voxelize(ds, 0.5, 0.75)
    volume = specimen_volume(grid.counts.sum(axis=0), grid.origin, grid.voxel_size)
    flat = flat_voxel_index(ds.positions, grid.origin, grid.voxel_size, grid.shape)
    assert volume.mask.ravel()[flat].all()
    # the needle fills about 40 % of its bounding box (cone + cap in a square prism)
    needle_share = IONS / 35.0 / np.prod(ds.truth.box)
    assert volume.voxel_fraction == pytest.approx(needle_share, abs=0.05)
    assert volume.volume_nm3 == pytest.approx(IONS / 35.0, rel=0.04)


def test_box_specimen_mask_is_the_whole_grid():
    ds = phantom(8.0, slab_distance(3.0, 5.0), seed=1)
    grid = voxelize(ds, 0.5, 0.75)
    volume = specimen_volume(grid.counts.sum(axis=0), grid.origin, grid.voxel_size)
    centres = np.meshgrid(*[grid.voxel_centers(a) for a in range(3)], indexing="ij")
    in_box = np.all([(c > 0.25) & (c < 7.75) for c in centres], axis=0)
    assert volume.mask[in_box].all()  # the blurred fringe around the box may be left out
    assert volume.volume_nm3 == pytest.approx(8.0**3, rel=0.08)  # edges and corners round off


@pytest.mark.parametrize("method", ["canny", "iso"])
@pytest.mark.parametrize("lobes", [0.0, 0.25])
def test_needle_mesh_area_is_the_cross_section(method, lobes):
    ds, _, true_area = _needle(lobes)
    params = method_params(method, SegmentParams(elements=("Al",)), iso_value=17.5)
    result = run_method(method, ds, params)
    assert result.mesh is not None
    # the iso-surface is rough (counting noise at the level) and has small noise blobs
    assert result.mesh.area == pytest.approx(true_area, rel=0.05 if method == "canny" else 0.12)
    # no mesh vertex farther than one voxel from an ion
    gap, _ = cKDTree(ds.positions).query(result.mesh.vertices)
    assert gap.max() <= result.voxel_size
    # voxels outside the specimen are neither phase; every ion's voxel is in it
    outside = result.voxel_labels == NO_PHASE
    assert 0.4 < outside.mean() < 0.75
    assert result.phase_composition["interface_area_nm2"] == pytest.approx(result.mesh.area)
    summary = summarize_segmentation(result, "seg.h5")  # what `synthapt info` shows
    assert summary["specimen_volume_nm3"] == pytest.approx(IONS / 35.0, rel=0.06)
    assert any(line.startswith("specimen: ") for line in format_summary(summary))


def test_clip_mesh_drops_only_faces_outside():
    ds = phantom(8.0, slab_distance(3.0, 5.0), seed=1)
    grid = voxelize(ds, 0.5, 0.75)
    volume = specimen_volume(grid.counts.sum(axis=0), grid.origin, grid.voxel_size)
    z = grid.voxel_centers(2)
    indicator = np.broadcast_to(((z > 3.0) & (z < 5.0)).astype(np.float32), grid.shape)
    mesh = interface_mesh(np.ascontiguousarray(indicator), grid.origin, grid.voxel_size)
    clipped = clip_mesh(mesh, volume)
    # two 8 x 8 nm planes, less a rim of at most half a voxel where the box ends
    assert clipped.area == pytest.approx(2 * 64.0, rel=0.08)
    assert clipped.area <= mesh.area
    assert len(clipped.vertices) <= len(mesh.vertices)
    assert np.allclose(np.abs(clipped.normals[:, 2]), 1.0, atol=1e-6)


def test_occupied_bounds():
    m = np.zeros((6, 7), bool)
    assert occupied_bounds(m) is None
    m[2, 3] = m[4, 1] = True
    assert occupied_bounds(m) == (2, 5, 1, 4)


class CountingDetector:
    """The real Sobel detector, counting the pixels it is given."""

    def __init__(self):
        self.inner = get_detector("sobel")
        self.pixels = 0

    def detect(self, images):
        self.pixels += int(np.prod(np.shape(images)))
        return self.inner.detect(images)


def test_cropped_edges_follow_the_specimen(needle):
    ds, _, _ = needle
    # a few stray ions far off the tip (background hits) make the bounding box 3x wider
    stray = np.array([[-20.0, -20.0, 0.0], [40.0, 40.0, 25.0]], dtype=np.float32)
    ds = ds.replace(positions=np.vstack([ds.positions, stray]),
                    mass_to_charge=np.r_[ds.mass_to_charge, np.float32([29.0, 29.0])],
                    species=np.r_[ds.species, np.int16([0, 0])], truth=None)
    grid = voxelize(ds, 0.5, 0.75)
    volume = specimen_volume(grid.counts.sum(axis=0), grid.origin, grid.voxel_size)
    conc, _ = grid.concentration(("Al",), 2.0)
    image = np.nan_to_num(conc / 100.0).astype(np.float32)
    full, cropped = CountingDetector(), CountingDetector()
    edges_full = edge_field(image, full)
    edges_crop = edge_field(image, cropped, mask=volume.mask)
    assert cropped.pixels < 0.25 * full.pixels
    # inside the specimen, away from the crop border, the edges are the same up to the scaling
    inner = volume.density > 0.9
    assert np.corrcoef(edges_crop[inner], edges_full[inner])[0, 1] > 0.99


def test_iso_on_box_specimen_keeps_the_whole_grid():
    ds = phantom(8.0, slab_distance(3.0, 5.0), seed=1)
    result = iso_segment(ds, "Al", 17.5)
    grid_volume = result.voxel_labels.size * result.voxel_size**3
    assert (result.voxel_labels != NO_PHASE).sum() * result.voxel_size**3 >= 0.95 * 8.0**3
    assert (result.voxel_labels == NO_PHASE).sum() * result.voxel_size**3 < grid_volume - 8.0**3
    assert result.mesh.area == pytest.approx(2 * 64.0, rel=0.1)


def test_automatic_slice_step_keeps_every_slice_on_small_grids():
    params = SegmentParams()
    assert params.slice_step == 0 and params.upsample == 1.0
    assert params.effective_slice_step((120, 120, 130)) == 1  # 1.9 M voxels
    assert params.effective_slice_step((140, 140, 200)) == 2  # a 10 M-ion needle at 0.5 nm
    assert SegmentParams(slice_step=3).effective_slice_step((10, 10, 10)) == 3
    with pytest.raises(ConfigError, match="segment.slice_step"):
        SegmentParams(slice_step=-1)
