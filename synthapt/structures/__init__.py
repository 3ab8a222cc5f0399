"""Geometries (signed-distance functions of the true interface) and alloy systems."""

from synthapt.structures.geometry import Geometry, geometry_from_dict, register_geometry, signed_distance_grid
from synthapt.structures.layered import Layered
from synthapt.structures.isolated import IsolatedSpec, Particles, place_particles
from synthapt.structures.interconnected import Gyroid, InterconnectedSpec, gyroid_for_fraction
from synthapt.structures.composite import Complement, Intersection, Union
from synthapt.structures.build import build_geometry, check_geometry_spec

__all__ = [
    "Geometry", "geometry_from_dict", "register_geometry", "Layered", "IsolatedSpec", "Particles",
    "place_particles", "Gyroid", "InterconnectedSpec", "gyroid_for_fraction", "Complement",
    "Intersection", "Union", "build_geometry", "check_geometry_spec", "signed_distance_grid",
]
