"""The colorization pipeline: one module per DVC stage, plus the small modules they share.

Stages (each has a ``main()`` that ``dvc.yaml`` calls): ``samples``, ``prepare``, ``train``, ``evaluate``,
``render``. Shared modules: ``color`` (Lab conventions), ``images`` (reading photographs), ``splits``,
``shards``, ``model``, ``quality`` (metrics), ``gallery``, ``tracking`` (MLflow), ``params``, ``atomic``.
"""
