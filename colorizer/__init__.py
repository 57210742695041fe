"""The colorizer library: what the pipeline's stages (`stages`), ``colorize`` and ``colorize-studio`` share.

Subpackages, each named after what it does (its ``__init__`` says what each module holds):

- ``data``: photographs in, prepared data out: ``images``, ``splits``, ``shards``, ``preparation``, ``samples``.
- ``network``: the Keras networks: ``builder``, ``layers``, ``follow_hints``, ``readout``, ``ab_bins``.
- ``training``: fitting a network: ``settings``, ``fit``, ``history``, ``batches``, ``crops``,
  ``simulated_hints``, ``checkpoints``, ``devices``, ``cluster``, ``finetune``.
- ``inference``: a trained model's use: ``loading``, ``photo``, ``predict``, ``suggestions``, ``export``,
  ``pyfunc``, ``onnx_export``, ``onnx_model``.
- ``evaluation``: measuring a model: ``quality``, ``scoring``, ``hint_sweep``, ``gallery``.
- ``tracking``: MLflow: ``store``, ``runs``, ``training_run``, ``logged_model``, ``results``, ``registry``.
- ``video``: clips: ``streams``, ``motion``, ``steady``, ``keyframes``, ``clip``.
- ``apps``: the commands: ``colorize``, ``files``, ``studio`` (a package, with ``__main__``: ``command``,
  ``server``, ``workspace``, ``opened``, ``points``, ``folders``, ``refusals``, ``ordering``).

Top-level modules, the conventions every subpackage shares:

- ``color``: Lab conventions, sRGB conversions, one-byte Lab codes.
- ``hints``: colour hints: sidecars, hint maps, the points a user gives.
- ``params``: reading and checking params.yaml.
- ``atomic``: outputs written whole or not at all.
- ``native_logs``: TensorFlow's C++ log lines kept off the terminal.
"""

from colorizer import native_logs

native_logs.install()

# The networks halve the image three times: every side they take is a multiple of this. Here, not in
# `colorizer.network.builder`, so that prepare and colorize check sizes without importing Keras.
DOWNSAMPLING = 8
# The hint map a hint-taking network reads besides L (`colorizer.hints`): a / 128, b / 128 and a mask.
HINT_CHANNELS = 3
