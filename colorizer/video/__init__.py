"""Video: a clip's frames read and written (streams), the motion between them (motion), colour carried steadily
through each shot (steady), a video's hints on key frames (keyframes), and a video's path through the model
(clip)."""
