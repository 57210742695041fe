"""Measuring a model: ``quality`` (PSNR, SSIM, colour error, colourfulness), ``gallery`` (panels, contact
sheets, the gallery page)."""
