"""The stages of ``dvc.yaml``, one module each, nothing else: ``samples``, ``prepare``, ``train``, ``export``,
``evaluate``, ``render``. Each has a ``main()`` that its stage's command runs (``python -m stages.train``); what
they share is the library, `colorizer`.
"""

import colorizer  # noqa: F401  first: keeps TensorFlow's start-up log lines off the terminal (colorizer.native_logs)
