"""Readers and writers: POS, ePOS, RRNG, RNG, APT6, and the synthapt HDF5 dataset file."""
