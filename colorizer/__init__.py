"""The colorizer library: what the pipeline's stages (`stages`) and the ``colorize`` command share.

- Photographs and colour: ``images`` (finding, reading and resizing photographs), ``color`` (Lab conventions,
  sRGB conversions, one-byte Lab codes), ``quality`` (the scores: PSNR, SSIM, colour error, colourfulness).
- Prepared data: ``splits`` (which photograph goes to train, val or test), ``shards`` (the .npy shards and
  their manifest).
- Training: ``batches`` (the training input), ``crops`` (fresh crops cut in the training graph),
  ``checkpoints`` (resuming an interrupted training), ``model`` (the networks and their read-out), ``ab_bins``
  (the colour bins of the distribution head), ``hints`` (colour hints: sidecars, hint maps, simulated and
  swept points), ``devices`` (the devices, the tf.distribute strategy, the dtype policy), ``cluster`` (one
  training across several processes or machines), ``finetune`` (a training that starts from a trained network).
- Using a model: ``inference`` (loading it and colouring Lab arrays, with or without hints), ``colorize`` (the
  ``colorize`` command, for any photograph at its own size), ``suggestions`` (the likely colours at a point),
  ``studio`` (the ``colorize-studio`` page: colouring a photograph point by point in the browser),
  ``mlflow_model`` (the model as MLflow loads it), ``gallery`` (panels, contact sheets, the gallery page).
- Plumbing: ``params`` (reading and checking params.yaml), ``cli`` (the stages' command lines: the files
  dvc.yaml names), ``tracking`` (MLflow), ``atomic`` (outputs written whole or not at all), ``native_logs``
  (TensorFlow's C++ log lines kept off the terminal).
"""

from colorizer import native_logs

native_logs.install()

# The networks halve the image three times: every side they take is a multiple of this. Here, not in
# `colorizer.network.model`, so that prepare and colorize check sizes without importing Keras.
DOWNSAMPLING = 8
# The hint map a hint-taking network reads besides L (`colorizer.hints`): a / 128, b / 128 and a mask.
HINT_CHANNELS = 3
