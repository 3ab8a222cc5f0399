"""Pure geometry on arrays: voxel grids, triangle meshes, point-to-mesh signed distances, proxigrams."""
