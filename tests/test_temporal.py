"""Temporal stability measures (colorizer.evaluation.temporal): rendered pans with exact motion, warp error, CDC."""

import numpy as np

from colorizer.color import srgb_to_lab
from colorizer.evaluation.temporal import cdc, pan_clip, warp_error
from conftest import lightness_coded_rgb


def test_a_pans_known_motion_carries_each_frame_onto_the_next_and_the_measures_see_flicker():
    photo = lightness_coded_rgb(200, 260, seed=3)
    clip = pan_clip(photo, seed=0, frames=12, size=(96, 128))
    assert clip.frames.shape == (12, 96, 128, 3) and clip.flows.shape == (11, 96, 128, 2)
    assert clip.seen.mean() > 0.9  # a pan and a slow zoom: nearly every pixel was in the frame before
    ab = srgb_to_lab(clip.frames)[..., 1:]
    floor = warp_error(ab, clip.flows, clip.seen)
    # The exact motion brings each frame onto the next within resampling; ignoring the motion does not.
    assert floor < 0.5 < warp_error(ab, np.zeros_like(clip.flows), clip.seen)
    # A colour that wanders frame to frame: warp error and CDC both rise above the truth's.
    rng = np.random.default_rng(0)
    wandering = np.clip(clip.frames + rng.integers(-25, 26, (12, 1, 1, 3)), 0, 255).astype(np.uint8)
    assert warp_error(srgb_to_lab(wandering)[..., 1:], clip.flows, clip.seen) > 5 * floor
    assert cdc(wandering) > 3 * cdc(clip.frames) > 0
    assert cdc(np.repeat(clip.frames[:1], 6, axis=0)) == 0.0  # the same frame over and over
