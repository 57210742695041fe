"""Motion between consecutive frames, at the working size: where each pixel of a frame was in the frame before
(optical flow from OpenCV's DIS on the grey frames), carrying a field along that motion, where the carried
values can be trusted, and where a shot ends.

DIS (Kroeger et al., "Fast Optical Flow using Dense Inverse Search", ECCV 2016) is OpenCV's fast dense flow:
about 2 ms for a 256x192 frame on one core at its "fast" preset.
"""

import cv2
import numpy as np

# A pixel's carried colour is trusted where the lightness it was carried from matches its own within this
# many L units (and the flow is consistent both ways, and it came from inside the frame).
LIGHTNESS_TOLERANCE = 6.0
CONSISTENCY_TOLERANCE = 1.0  # pixels: forward flow and backward flow undo each other within this
# A cut: fewer than this share of the frame's pixels can be traced to the frame before.
CUT_TRUSTED_SHARE = 0.35
# ... or their lightness histograms (32 bins, as shares) differ by more than this (half the L1 distance).
CUT_HISTOGRAM_DISTANCE = 0.5


def _dis() -> "cv2.DISOpticalFlow":
    flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    flow.setUseSpatialPropagation(True)
    return flow


def gray8(lightness: np.ndarray) -> np.ndarray:
    """L in [0, 100] as the uint8 image DIS takes."""
    return np.clip(lightness * 2.55 + 0.5, 0, 255).astype(np.uint8)


class Motion:
    """Flow between consecutive frames of one clip (the DIS object keeps its buffers between calls)."""

    def __init__(self) -> None:
        self.dis = _dis()

    def flow(self, to: np.ndarray, frm: np.ndarray) -> np.ndarray:
        """(h, w, 2) float32: for each pixel of ``to``, the offset (dx, dy) to where it is in ``frm``
        (both uint8 grey frames of one size)."""
        return self.dis.calc(to, frm, None)


def places(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x, y), each (h, w) float32: where each pixel of the current frame was in the frame before, by ``flow``."""
    h, w = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return grid_x + flow[..., 0], grid_y + flow[..., 1]


def carry(field: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``field`` (h, w, c) of the frame before, carried to the current frame along ``flow``
    (`Motion.flow` from the current frame to the one before): bilinear, the border's value outside."""
    map_x, map_y = places(flow)
    carried = cv2.remap(field, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return carried.reshape(field.shape)


def inside(flow: np.ndarray) -> np.ndarray:
    """(h, w) bool: the pixels whose place in the frame before lies inside it."""
    h, w = flow.shape[:2]
    x, y = places(flow)
    return (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)


def trusted(
    lightness: np.ndarray, before: np.ndarray, backward: np.ndarray, forward: np.ndarray | None = None
) -> np.ndarray:
    """(h, w) float32 in [0, 1]: how far the colour carried along ``backward`` (current -> before) can be
    trusted at each pixel: 1 where the lightness it came from (``before``, carried) matches ``lightness`` and
    the ``forward`` flow (before -> current) brings it back, falling to 0 at occlusions, new content and
    outside the frame."""
    carried = carry(before[..., None], backward)[..., 0]
    error = np.abs(carried - lightness)
    trust = np.clip(1.0 - (error - LIGHTNESS_TOLERANCE / 2) / LIGHTNESS_TOLERANCE, 0.0, 1.0)
    if forward is not None:
        round_trip = backward + carry(forward, backward)
        gap = np.hypot(round_trip[..., 0], round_trip[..., 1])
        trust *= np.clip(1.0 - (gap - CONSISTENCY_TOLERANCE) / CONSISTENCY_TOLERANCE, 0.0, 1.0)
    trust[~inside(backward)] = 0.0
    return trust.astype(np.float32)


def histogram(lightness: np.ndarray) -> np.ndarray:
    """The shares of a frame's pixels in 32 bins of L."""
    counts, _ = np.histogram(lightness, bins=32, range=(0.0, 100.0))
    return counts / max(1, lightness.size)


def is_cut(trust: np.ndarray, histogram_now: np.ndarray, histogram_before: np.ndarray) -> bool:
    """Whether a new shot starts at this frame: little of it traced to the frame before, or its lightness
    distributed otherwise."""
    distance = 0.5 * float(np.abs(histogram_now - histogram_before).sum())
    return float(trust.mean()) < CUT_TRUSTED_SHARE or distance > CUT_HISTOGRAM_DISTANCE
