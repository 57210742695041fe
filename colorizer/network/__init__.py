"""The networks, in the Keras 3 API: ``builder`` (the builders and the names of the layers read out),
``layers`` (the custom Keras layers), ``follow_hints`` (the weight-free step after the network that carries the
hints' colours), ``readout`` (what a built or loaded network has, what training fits, its read-out and its
layers) and ``ab_bins`` (the colour bins of the distribution head and its losses). Loading a saved network needs
``layers`` and ``follow_hints`` imported (`colorizer.network.readout` imports both), which registers the custom
layers."""
