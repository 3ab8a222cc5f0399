"""Scores against the ground truth: metric vocabulary + targets, label / mesh / profile metrics,
and the case-result record of scored files."""
