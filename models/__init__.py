"""Chat classifiers: the protocol every model implements and the models that ship with streamwatch."""
