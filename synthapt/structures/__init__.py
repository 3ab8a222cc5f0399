"""Geometries (signed-distance functions of the true interface) and alloy systems."""

from synthapt.structures.geometry import Geometry, geometry_from_dict, register_geometry

__all__ = ["Geometry", "geometry_from_dict", "register_geometry"]
