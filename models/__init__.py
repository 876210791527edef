"""Chat classifiers: the protocol every model implements and the models streamwatch ships."""
