"""A 0..1 face quality estimate from size, sharpness and pose.

Quality decides whether a face is good enough to enrol as a reference and how much a match on it should be
trusted: an identity embedding of a 20-pixel, blurred, profile face says little about who it is. The three
parts are kept in the output so a reviewer can see *why* a face was judged poor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_SIDE_PX = 24.0  # below this a face is reported but its identity is not trusted at all
GOOD_SIDE_PX = 96.0  # at or above this, size no longer limits quality
SHARPNESS_SCALE = 60.0  # Laplacian variance on the aligned crop where sharpness reaches 0.5


@dataclass(frozen=True)
class Quality:
    score: float
    size: float
    sharpness: float
    frontal: float
    face_px: float

    def as_dict(self) -> dict[str, float]:
        return {
            "score": round(self.score, 3),
            "size": round(self.size, 3),
            "sharpness": round(self.sharpness, 3),
            "frontal": round(self.frontal, 3),
            "face_px": round(self.face_px, 1),
        }


def frontalness(landmarks: np.ndarray) -> float:
    """1 for a frontal face, towards 0 for profile: where the nose sits between the eyes and above the mouth.

    Yaw moves the nose sideways relative to the eye midpoint; pitch moves it towards the eyes or the mouth.
    Both are measured in units of the eye distance, so the estimate does not depend on face size.
    """
    pts = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    right_eye, left_eye, nose, right_mouth, left_mouth = pts
    eye_mid = (right_eye + left_eye) / 2
    mouth_mid = (right_mouth + left_mouth) / 2
    eye_vec = left_eye - right_eye
    eye_dist = float(np.linalg.norm(eye_vec))
    if eye_dist < 1e-6:
        return 0.0
    axis_x = eye_vec / eye_dist
    axis_y = np.array([-axis_x[1], axis_x[0]])
    yaw = abs(float((nose - eye_mid) @ axis_x)) / eye_dist  # 0 frontal, ~0.5 at strong yaw
    vertical = float((mouth_mid - eye_mid) @ axis_y)
    if vertical <= 1e-6:
        return 0.0
    nose_pos = float((nose - eye_mid) @ axis_y) / vertical  # ~0.55 frontal
    pitch = abs(nose_pos - 0.55)
    return float(np.clip(1.0 - 2.2 * yaw - 2.0 * max(0.0, pitch - 0.1), 0.0, 1.0))


def sharpness(aligned_rgb: np.ndarray) -> float:
    import cv2

    grey = cv2.cvtColor(np.ascontiguousarray(aligned_rgb), cv2.COLOR_RGB2GRAY)
    centre = grey[16:104, 16:96]  # the face, not the background corners
    variance = float(cv2.Laplacian(centre, cv2.CV_64F).var())
    return variance / (variance + SHARPNESS_SCALE)


def estimate_quality(
    bbox: tuple[float, float, float, float], landmarks: np.ndarray, aligned_rgb: np.ndarray
) -> Quality:
    pts = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    # Face size from the landmarks (eye-to-mouth span x ~2.2), steadier than the box across detectors.
    eye_mid = (pts[0] + pts[1]) / 2
    mouth_mid = (pts[3] + pts[4]) / 2
    face_px = max(float(np.linalg.norm(mouth_mid - eye_mid)) * 2.6, min(bbox[2], bbox[3]) * 0.5)
    size = float(np.clip((face_px - MIN_SIDE_PX) / (GOOD_SIDE_PX - MIN_SIDE_PX), 0.0, 1.0))
    sharp = sharpness(aligned_rgb)
    front = frontalness(pts)
    score = float(size * (0.4 + 0.6 * sharp) * (0.3 + 0.7 * front))
    return Quality(score, size, sharp, front, face_px)
