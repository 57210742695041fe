"""Fitting a network: ``settings`` (train's params, checked), ``fit`` (the compiled model and the fit),
``history`` (the per-epoch history, the epoch kept and train's outputs), ``batches`` (the training input),
``crops`` (fresh crops cut in the training graph), ``simulated_hints`` (the hints a training simulates from the
truth), ``checkpoints`` (resuming an interrupted training), ``devices`` (the devices, the tf.distribute strategy,
the dtype policy), ``cluster`` (one training across several processes or machines), ``finetune`` (a training that
starts from a trained network)."""
