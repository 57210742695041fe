"""MLflow: ``store`` (where the tracking store is, the one run per training, what evaluate and render log into
it), ``registry`` (the registered model and its aliases: ``colorize-promote``), ``pyfunc`` (the model as MLflow
loads it)."""
