"""Fitting a network: ``batches`` (the training input), ``crops`` (fresh crops cut in the training graph),
``checkpoints`` (resuming an interrupted training), ``devices`` (the devices, the tf.distribute strategy, the
dtype policy), ``cluster`` (one training across several processes or machines), ``finetune`` (a training that
starts from a trained network)."""
