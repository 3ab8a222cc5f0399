"""Natural isotopes of the elements met in APT of alloys: masses (Da) and abundances.

Abundances (mole fractions): IUPAC/CIAAW "Isotopic compositions of the elements 2013",
J. Meija et al., Pure Appl. Chem. 88 (2016) 293-306 (representative isotopic compositions).
Isotope masses: Atomic Mass Evaluation AME2020, M. Wang et al., Chinese Phys. C 45 (2021) 030003.
Each element's abundances are renormalised to sum to exactly 1.

Default charge-state fractions (index 0 = 1+, 1 = 2+, ...) are typical of laser-pulsed atom
probe analyses of Ni/Co/Fe-based alloys (e.g. Ni mostly 2+, Al mainly 1+ with some 2+ and 3+;
see D.J. Larson et al., "Local Electrode Atom Probe Tomography", Springer 2013, ch. 5 and its
mass-spectrum examples). They are starting points, overridable per element.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthapt.errors import ConfigError

# element: ((mass number, isotope mass in Da, abundance), ...)
_TABLE: dict[str, tuple[tuple[int, float, float], ...]] = {
    "H": ((1, 1.00782503223, 0.999885), (2, 2.01410177812, 0.000115)),
    "B": ((10, 10.01293695, 0.199), (11, 11.00930536, 0.801)),
    "C": ((12, 12.0, 0.9893), (13, 13.00335483507, 0.0107)),
    "N": ((14, 14.00307400443, 0.99636), (15, 15.00010889888, 0.00364)),
    "O": ((16, 15.99491461957, 0.99757), (17, 16.99913175650, 0.00038),
          (18, 17.99915961286, 0.00205)),
    "Mg": ((24, 23.985041697, 0.7899), (25, 24.985836976, 0.1000), (26, 25.982592968, 0.1101)),
    "Al": ((27, 26.98153853, 1.0),),
    "Si": ((28, 27.97692653465, 0.92223), (29, 28.97649466490, 0.04685),
           (30, 29.973770136, 0.03092)),
    "P": ((31, 30.97376199842, 1.0),),
    "Ti": ((46, 45.95262772, 0.0825), (47, 46.95175879, 0.0744), (48, 47.94794198, 0.7372),
           (49, 48.94786568, 0.0541), (50, 49.94478689, 0.0518)),
    "V": ((50, 49.94715601, 0.00250), (51, 50.94395704, 0.99750)),
    "Cr": ((50, 49.94604183, 0.04345), (52, 51.94050623, 0.83789), (53, 52.94064815, 0.09501),
           (54, 53.93887916, 0.02365)),
    "Mn": ((55, 54.93804391, 1.0),),
    "Fe": ((54, 53.93960899, 0.05845), (56, 55.93493633, 0.91754), (57, 56.93539284, 0.02119),
           (58, 57.93327443, 0.00282)),
    "Co": ((59, 58.93319429, 1.0),),
    "Ni": ((58, 57.93534241, 0.680769), (60, 59.93078588, 0.262231),
           (61, 60.93105557, 0.011399), (62, 61.92834537, 0.036345),
           (64, 63.92796682, 0.009256)),
    "Cu": ((63, 62.92959772, 0.6915), (65, 64.92778970, 0.3085)),
    "Zn": ((64, 63.92914201, 0.4917), (66, 65.92603381, 0.2773), (67, 66.92712775, 0.0404),
           (68, 67.92484455, 0.1845), (70, 69.9253192, 0.0061)),
    "Zr": ((90, 89.9046977, 0.5145), (91, 90.9056396, 0.1122), (92, 91.9050347, 0.1715),
           (94, 93.9063108, 0.1738), (96, 95.9082714, 0.0280)),
    "Nb": ((93, 92.9063730, 1.0),),
    "Mo": ((92, 91.90680796, 0.1453), (94, 93.90508490, 0.0915), (95, 94.90583877, 0.1584),
           (96, 95.90467612, 0.1667), (97, 96.90601812, 0.0960), (98, 97.90540482, 0.2439),
           (100, 99.9074718, 0.0982)),
    "Hf": ((174, 173.9400461, 0.0016), (176, 175.9414076, 0.0526), (177, 176.9432277, 0.1860),
           (178, 177.9437058, 0.2728), (179, 178.9458232, 0.1362), (180, 179.9465570, 0.3508)),
    "Ta": ((180, 179.9474648, 0.0001201), (181, 180.9479958, 0.9998799)),
    "W": ((180, 179.9467108, 0.0012), (182, 181.94820394, 0.2650), (183, 182.95022275, 0.1431),
          (184, 183.95093092, 0.3064), (186, 185.9543628, 0.2843)),
    "Re": ((185, 184.9529545, 0.3740), (187, 186.9557501, 0.6260)),
}

# Default charge-state fractions: index 0 is 1+, index 1 is 2+, ...
DEFAULT_CHARGE_STATES: dict[str, tuple[float, ...]] = {
    "H": (1.0,), "B": (0.5, 0.5), "C": (0.5, 0.5), "N": (0.5, 0.5), "O": (0.5, 0.5),
    "Mg": (0.3, 0.7), "Al": (0.60, 0.35, 0.05), "Si": (0.10, 0.85, 0.05), "P": (0.5, 0.5),
    "Ti": (0.05, 0.90, 0.05), "V": (0.05, 0.90, 0.05), "Cr": (0.10, 0.90), "Mn": (0.10, 0.90),
    "Fe": (0.05, 0.95), "Co": (0.02, 0.98), "Ni": (0.02, 0.98), "Cu": (0.25, 0.75),
    "Zn": (0.3, 0.7), "Zr": (0.0, 0.3, 0.6, 0.1), "Nb": (0.0, 0.3, 0.6, 0.1),
    "Mo": (0.0, 0.25, 0.70, 0.05), "Hf": (0.0, 0.3, 0.6, 0.1), "Ta": (0.0, 0.2, 0.7, 0.1),
    "W": (0.0, 0.1, 0.8, 0.1), "Re": (0.0, 0.2, 0.7, 0.1),
}

ELEMENTS: tuple[str, ...] = tuple(_TABLE)


@dataclass(frozen=True)
class Isotopes:
    """The natural isotopes of one element: mass numbers, masses (Da), abundances (sum 1)."""

    element: str
    mass_numbers: np.ndarray
    masses: np.ndarray
    abundances: np.ndarray

    @property
    def mean_mass(self) -> float:
        """Abundance-weighted atomic mass in Da (the standard atomic weight)."""
        return float(np.dot(self.masses, self.abundances))

    @property
    def main_mass(self) -> float:
        """Mass of the most abundant isotope, Da."""
        return float(self.masses[np.argmax(self.abundances)])


def isotopes(element: str, where: str = "element") -> Isotopes:
    """The natural isotopes of ``element``; an element not in the table raises ConfigError."""
    try:
        rows = _TABLE[element]
    except KeyError:
        raise ConfigError(
            f"{where}: no isotope data for element {element!r} "
            f"(known: {', '.join(ELEMENTS)})") from None
    numbers, masses, abundances = (np.array(col) for col in zip(*rows))
    abundances = abundances / abundances.sum()
    return Isotopes(element, numbers.astype(np.int64), masses.astype(np.float64), abundances)


def default_charge_states(element: str) -> tuple[float, ...]:
    """Default charge-state fractions (1+, 2+, ...) of ``element``."""
    isotopes(element)
    return DEFAULT_CHARGE_STATES.get(element, (0.0, 1.0))
