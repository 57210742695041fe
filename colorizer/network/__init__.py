"""The networks, in the Keras 3 API: ``model`` (the builders, the custom layers and the read-out), ``ab_bins``
(the colour bins of the distribution head and its losses)."""
