"""Training the ``learned`` edge detector on generated, exactly labelled specimens.

``make_training_data(spec, out_dir)`` draws specimens from a ``TrainingSpec`` and writes the
detector's input images with their true interfaces; ``train(data_dir, out_dir, TrainParams())``
fits an ``EdgeUNet`` (or HED's side outputs) and writes weights, a loss curve and a record.
"""

from synthapt.training.data import edge_target, make_training_data, read_training_data
from synthapt.training.spec import TrainingSpec, load_training_spec

__all__ = ["TrainingSpec", "edge_target", "load_training_spec", "make_training_data", "read_training_data"]
