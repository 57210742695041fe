"""Measuring a model: ``quality`` (PSNR, SSIM, colour error, colourfulness), ``scoring`` (the test split scored,
the evaluate stage), ``hint_sweep`` (Zhang et al.'s sweep of hints drawn from the truth, and the hint curve),
``gallery`` (panels, contact sheets, the gallery page, the render stage)."""
