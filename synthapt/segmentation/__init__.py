"""Segmentation of APT datasets: parameters, concentration image, edge method, regions, iso
baseline, result file, and the one method registry + dispatcher (``synthapt.segmentation.methods``)."""
