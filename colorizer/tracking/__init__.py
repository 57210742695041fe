"""MLflow: ``store`` (where the tracking store is, and reaching it), ``runs`` (the one run per training, which
train starts and export, evaluate and render log into), ``training_run`` (what train logs into its run),
``logged_model`` (the model export logs), ``results`` (the figures and gallery evaluate and render attach to it),
``registry`` (the registered model and its aliases: ``colorize-promote``). The model as MLflow loads it is
`colorizer.inference.pyfunc`: tracking only logs it."""
