"""The colorization pipeline: one module per DVC stage, plus the small modules they share.

Stages (each has a ``main()`` that ``dvc.yaml`` calls): ``samples``, ``prepare``, ``train``, ``export``,
``evaluate``, ``render``; ``colorize`` is the command for any photograph. Shared modules: ``color`` (Lab
conventions and one-byte Lab codes), ``images`` (reading photographs), ``splits``, ``shards`` (prepared data on
disk), ``batches`` (the training input), ``crops`` (cutting fresh crops in the training graph),
``checkpoints`` (resuming an interrupted training), ``model``, ``ab_bins``, ``inference``, ``quality``
(metrics), ``gallery``, ``tracking`` (MLflow), ``mlflow_model`` (the model as MLflow loads it), ``params``,
``atomic``, ``native_logs`` (TensorFlow's C++ log lines kept off the terminal).
"""

from stages import native_logs

native_logs.install()
