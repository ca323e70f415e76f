"""A parametric 2-D talking face for the synthetic corpus (:mod:`cmaf.data.synth`).

PIL polygons whose geometry is driven by action-unit-like controls (Ekman & Friesen's Facial
Action Coding System, FACS), each 0 (absent) .. 1 (maximal). The emotion prototypes follow the
EMFACS predictions. The close-up framing and bold movements keep the expression visible after
the ``cpu`` profile's resize to 64 px. Head pose is faked in 2-D: yaw and pitch shift the inner
features inside a fixed head outline, roll rotates the whole face. The book page
``book/synthetic_corpus.md`` lists what each AU moves and why the drawing looks as it does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

#: The FACS action units the face moves (see the render code for what each one does).
AUS: tuple[str, ...] = tuple(f"AU{n}" for n in (1, 2, 4, 5, 6, 7, 9, 12, 15, 16, 20, 23, 26, 43))

#: Strong-intensity AU amplitudes per RAVDESS emotion code.
PROTOTYPES: dict[int, dict[str, float]] = {
    1: {},
    2: {"AU43": 0.15},  # overwritten by SynthConfig.calm_lid_relax
    3: {"AU6": 0.85, "AU12": 1.0, "AU26": 0.15},
    4: {"AU1": 0.85, "AU4": 0.55, "AU15": 0.85, "AU43": 0.25},
    5: {"AU4": 1.0, "AU5": 0.5, "AU7": 0.8, "AU23": 0.85},
    6: {"AU1": 0.8, "AU2": 0.6, "AU4": 0.5, "AU5": 0.85, "AU20": 0.85, "AU26": 0.45},
    7: {"AU9": 1.0, "AU15": 0.6, "AU16": 0.75},
    8: {"AU1": 0.9, "AU2": 0.9, "AU5": 0.85, "AU26": 0.8},
}

#: Head-motion energy and posture per emotion: (motion multiplier, pitch offset, yaw offset).
#: Sad heads droop, surprised ones lift, disgusted ones turn slightly away.
POSTURE: dict[int, tuple[float, float, float]] = {
    1: (1.0, 0.0, 0.0),
    2: (0.7, 0.02, 0.0),
    3: (1.3, -0.03, 0.0),
    4: (0.6, 0.12, 0.0),
    5: (1.5, 0.04, 0.0),
    6: (1.2, -0.02, 0.0),
    7: (1.1, 0.0, 0.12),
    8: (1.3, -0.08, 0.0),
}

_SKIN = np.array(
    [
        [255, 224, 196],
        [241, 194, 160],
        [224, 172, 130],
        [198, 134, 96],
        [141, 85, 54],
        [95, 60, 40],
    ],
    dtype=float,
)
_HAIR = np.array([[30, 24, 20], [70, 45, 25], [120, 80, 40], [180, 150, 90], [90, 90, 90]], float)


@dataclass(frozen=True)
class FaceActor:
    """Individual face geometry, colouring and head-motion style (drawn once per actor)."""

    head_aspect: float
    eye_y: float
    eye_dx: float
    eye_w: float
    eye_h: float
    brow_gap: float
    brow_thick: float
    nose_len: float
    mouth_y: float
    mouth_w: float
    lip_thick: float
    hair_cap: float
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    lips: tuple[int, int, int]
    iris: tuple[int, int, int]
    shirt: tuple[int, int, int]
    backdrop: tuple[int, int, int]
    sway_amp: float
    sway_hz: float
    nod_amp: float
    roll_amp: float
    expressiveness: float


def draw_face_actor(rng: np.random.Generator, male: bool) -> FaceActor:
    """Draw an actor's face: geometry within natural-looking ranges, skin tone, motion style."""
    tone = rng.uniform(0.0, len(_SKIN) - 1)
    lo = int(tone)
    skin = _SKIN[lo] + (tone - lo) * (_SKIN[min(lo + 1, len(_SKIN) - 1)] - _SKIN[lo])
    hair = _HAIR[rng.integers(len(_HAIR))] * rng.uniform(0.85, 1.1)
    lips = skin * np.array([0.82, 0.55, 0.55]) + np.array([30, 5, 10])
    iris = np.array([[60, 40, 20], [40, 90, 140], [70, 110, 60], [90, 60, 30]])[rng.integers(4)]
    grey = rng.uniform(215, 245)
    backdrop = np.array([grey, grey, grey]) + rng.uniform(-8, 8, 3)

    def rgb(c: np.ndarray) -> tuple[int, int, int]:
        c = np.clip(c, 0, 255).astype(int)
        return int(c[0]), int(c[1]), int(c[2])

    return FaceActor(
        head_aspect=float(rng.uniform(0.70, 0.80) if male else rng.uniform(0.66, 0.75)),
        eye_y=float(rng.uniform(-0.14, -0.06)),
        eye_dx=float(rng.uniform(0.27, 0.33)),
        eye_w=float(rng.uniform(0.14, 0.16)),
        eye_h=float(rng.uniform(0.07, 0.085)),
        brow_gap=float(rng.uniform(0.13, 0.17)),
        brow_thick=float(rng.uniform(0.05, 0.07) if male else rng.uniform(0.04, 0.055)),
        nose_len=float(rng.uniform(0.26, 0.34)),
        mouth_y=float(rng.uniform(0.46, 0.54)),
        mouth_w=float(rng.uniform(0.23, 0.28)),
        lip_thick=float(rng.uniform(0.045, 0.06)),
        hair_cap=float(rng.uniform(0.0, 0.1)),
        skin=rgb(skin),
        hair=rgb(hair),
        lips=rgb(lips),
        iris=rgb(iris),
        shirt=rgb(np.full(3, rng.uniform(15, 45))),  # RAVDESS actors wear black shirts
        backdrop=rgb(backdrop),
        sway_amp=float(rng.uniform(0.02, 0.06)),
        sway_hz=float(rng.uniform(0.25, 0.6)),
        nod_amp=float(rng.uniform(0.01, 0.035)),
        roll_amp=float(rng.uniform(0.01, 0.04)),
        expressiveness=float(rng.uniform(0.8, 1.15)),
    )


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], k: float) -> tuple[int, int, int]:
    k = min(max(float(k), 0.0), 1.0)  # plain floats: called ~20 times per frame
    return (
        int(a[0] + k * (b[0] - a[0])),
        int(a[1] + k * (b[1] - a[1])),
        int(a[2] + k * (b[2] - a[2])),
    )


# Unit circles and Bezier weights are cached: the renderer draws ~30 shapes per frame.
_CIRCLES: dict[int, np.ndarray] = {}
_BEZIER: dict[int, np.ndarray] = {}


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 28) -> np.ndarray:
    unit = _CIRCLES.get(n)
    if unit is None:
        a = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
        unit = _CIRCLES[n] = np.stack([np.cos(a), np.sin(a)], axis=1)
    return unit * (rx, ry) + (cx, cy)


def _bezier(p0, p1, p2, n: int = 9) -> np.ndarray:
    w = _BEZIER.get(n)
    if w is None:
        s = np.linspace(0.0, 1.0, n)
        w = _BEZIER[n] = np.stack([(1 - s) ** 2, 2 * (1 - s) * s, s**2], axis=1)
    return w @ np.array([p0, p1, p2], dtype=float)


class FaceRenderer:
    """Draws frames of one actor at one frame size.

    Face coordinates are in units of the head's half-height, origin at the head centre, y down;
    :meth:`render` maps them to pixels with the frame's head pose.
    """

    def __init__(self, actor: FaceActor, width: int, height: int):
        self.actor = actor
        self.width, self.height = width, height
        # Head half-height in pixels: the head fills ~85 % of the frame height, a close-up, so
        # that brows, lids and lips stay several pixels large after the 64 px resize of the cpu
        # profile (a smaller head leaves them 1-2 px, too small for a frozen random ResNet-18).
        self.scale = 0.43 * height
        ys = np.linspace(0.0, 1.0, height)[:, None, None]
        back = np.asarray(actor.backdrop, dtype=float)
        # A soft vertical studio gradient; lighting is applied later per frame.
        self.background = np.clip(back * (1.02 - 0.12 * ys), 0, 255).astype(np.uint8)
        self.background = np.ascontiguousarray(np.broadcast_to(self.background, (height, width, 3)))

    def render(
        self,
        au: dict[str, float],
        mouth_open: float,
        blink: float,
        yaw: float,
        pitch: float,
        roll: float,
        dx: float,
        dy: float,
        occluder: tuple[str, tuple[int, int, int]] | None = None,
    ) -> Image.Image:
        """Draw one frame.

        Parameters
        ----------
        au
            AU activations keyed by :data:`AUS`, 0..1.
        mouth_open
            Lip separation 0..1 (speech plus jaw drop), already combined by the caller.
        blink
            Lid closure 0..1 from blinking.
        yaw, pitch, roll
            Head pose: yaw/pitch as feature shifts in face units, roll in radians.
        dx, dy
            Head translation in face units.
        occluder
            ``(region, colour)`` to hide the ``upper`` (brows, eyes) or ``lower`` (nose, mouth)
            face with an opaque patch, or ``None``.
        """
        a = self.actor
        s = self.scale
        cx = self.width / 2.0 + dx * s
        cy = self.height * 0.5 + dy * s  # centred: the close-up head nearly fills the height
        cos_r, sin_r = np.cos(roll), np.sin(roll)

        # Face units -> pixels: one affine map (roll, scale, translation); inner features are
        # shifted by yaw/pitch first so they move inside the head outline.
        rot = s * np.array([[cos_r, sin_r], [-sin_r, cos_r]])
        shift_out = np.array([cx, cy])
        shift_in = np.array([yaw, pitch]) @ rot + shift_out

        def px(points: np.ndarray, feature: bool = True) -> list[float]:
            p = np.asarray(points, dtype=float) @ rot + (shift_in if feature else shift_out)
            return p.ravel().tolist()

        img = Image.fromarray(self.background)
        d = ImageDraw.Draw(img)
        skin = a.skin
        shade = _mix(skin, (0, 0, 0), 0.25)
        line = _mix(skin, (40, 20, 10), 0.55)
        hw = a.head_aspect
        thick, thin = max(1, int(s * 0.02)), max(1, int(s * 0.015))  # line widths (px)

        # Torso and neck (outside the head rotation's inner-feature shift).
        shoulders = np.array([[-2.2, 2.2], [-1.6, 1.25], [1.6, 1.25], [2.2, 2.2]])
        d.polygon(px(shoulders, False), fill=a.shirt)
        d.polygon(
            px(np.array([[-0.3, 0.6], [0.3, 0.6], [0.35, 1.35], [-0.35, 1.35]]), False), fill=shade
        )
        # Ears, head (the jaw drops the chin a little), hair cap.
        for side in (-1, 1):
            d.polygon(px(_ellipse(side * hw * 0.98, 0.02, 0.09, 0.17, 14), False), fill=shade)
        head = _ellipse(0.0, 0.0, hw, 1.0, 40)
        head[:, 1] = np.where(head[:, 1] > 0, head[:, 1] * (1.0 + 0.08 * mouth_open), head[:, 1])
        d.polygon(px(head, False), fill=skin)
        cap = _ellipse(0.0, -0.55, hw * 1.04, 0.5, 30)
        cap = cap[cap[:, 1] <= -0.55 + a.hair_cap]
        d.polygon(px(cap, False), fill=a.hair)

        # Cheeks (AU6 raises and flushes them; AU12 helps).
        cheek = au["AU6"] + 0.3 * au["AU12"]
        if cheek > 0.05:
            tint = _mix(skin, (225, 90, 90), 0.7 * cheek)
            for side in (-1, 1):
                e = _ellipse(side * (a.eye_dx + 0.03), 0.2 - 0.08 * cheek, 0.13, 0.09, 16)
                d.polygon(px(e), fill=tint)

        # Forehead wrinkles (AU1/AU2) and glabella lines (AU4, AU9).
        lift = max(au["AU1"], au["AU2"])
        if lift > 0.12:
            colour = _mix(skin, line, 0.8 * lift)
            for k in range(3):
                y = a.eye_y - a.brow_gap - 0.12 - 0.07 * k
                d.line(
                    px(_bezier((-0.28, y), (0, y - 0.04), (0.28, y), 7)), fill=colour, width=thick
                )
        knit = au["AU4"] + 0.5 * au["AU9"]
        if knit > 0.12:
            colour = _mix(skin, line, 0.9 * min(knit, 1.0))
            y0 = a.eye_y - a.brow_gap - 0.02
            for side in (-1, 1):
                d.line(
                    px(np.array([[side * 0.05, y0 - 0.1], [side * 0.04, y0 + 0.03]])),
                    fill=colour,
                    width=thick,
                )

        # Eyes: almond of two lid curves; the iris is clipped to the opening.
        upper = a.eye_h * (1.0 + 0.9 * au["AU5"] - 0.45 * au["AU7"] - 0.55 * au["AU43"])
        upper *= 1.0 - blink
        lower = a.eye_h * 0.85 * (1.0 - 0.55 * au["AU6"] - 0.45 * au["AU7"]) * (1.0 - blink)
        upper, lower = max(upper, 0.002), max(lower, 0.002)
        xs = np.linspace(-1.0, 1.0, 13)
        for side in (-1, 1):
            ex = side * a.eye_dx
            ey = a.eye_y
            top = ey - upper * (1 - xs**2)
            bot = ey + lower * (1 - xs**2)
            xx = ex + a.eye_w * xs
            almond = np.concatenate([np.stack([xx, top], 1), np.stack([xx, bot], 1)[::-1]])
            d.polygon(px(almond), fill=(245, 245, 240))
            iris = _ellipse(ex, ey, 0.05, 0.05, 16)
            rel = np.clip((iris[:, 0] - ex) / a.eye_w, -1, 1)
            iris[:, 1] = np.clip(iris[:, 1], ey - upper * (1 - rel**2), ey + lower * (1 - rel**2))
            d.polygon(px(iris), fill=a.iris)
            if upper + lower > 0.03:
                d.polygon(px(_ellipse(ex, ey, 0.016, min(0.016, upper), 10)), fill=(10, 10, 10))
            d.line(px(np.stack([xx, top], 1)), fill=(35, 25, 20), width=thick)

        # Brows: inner end raised by AU1, outer by AU2, both lowered and drawn in by AU4 / AU9.
        for side in (-1, 1):
            base = a.eye_y - a.brow_gap
            inner_y = base - 0.17 * au["AU1"] + 0.11 * au["AU4"] + 0.06 * au["AU9"]
            outer_y = base - 0.16 * au["AU2"] + 0.03 * au["AU4"] + 0.03 * au["AU9"] - 0.01
            inner_x = side * (a.eye_dx - 0.12 - 0.05 * au["AU4"])
            outer_x = side * (a.eye_dx + 0.13)
            mid = (0.5 * (inner_x + outer_x), min(inner_y, outer_y) - 0.03)
            curve = _bezier((inner_x, inner_y), mid, (outer_x, outer_y), 8)
            band = np.concatenate([curve, (curve + np.array([0.0, a.brow_thick]))[::-1]])
            d.polygon(px(band), fill=a.hair)

        # Nose: bridge, tip, nostrils raised and flared by AU9, bridge wrinkles.
        top_y = a.eye_y + 0.04
        tip_y = top_y + a.nose_len - 0.04 * au["AU9"]
        d.line(px(np.array([[0.02, top_y], [0.05, tip_y - 0.04]])), fill=shade, width=thin)
        flare = 0.07 + 0.03 * au["AU9"]
        d.polygon(px(_bezier((-flare, tip_y), (0, tip_y + 0.08), (flare, tip_y), 9)), fill=shade)
        for side in (-1, 1):
            d.polygon(px(_ellipse(side * 0.04, tip_y + 0.015, 0.022, 0.012, 8)), fill=(60, 35, 30))
        if au["AU9"] > 0.1:
            colour = _mix(skin, line, au["AU9"])
            for k in range(2):
                y = top_y + 0.06 + 0.04 * k
                d.line(px(np.array([[-0.08, y], [0.08, y]])), fill=colour, width=thin)

        # Mouth geometry.
        my = a.mouth_y
        half_w = a.mouth_w * (1.0 + 0.25 * au["AU12"] + 0.3 * au["AU20"] - 0.2 * au["AU23"])
        corner_dy = -0.11 * au["AU12"] + 0.11 * au["AU15"] + 0.02 * au["AU16"]
        lip = a.lip_thick * (1.0 - 0.6 * au["AU23"])
        gap = 0.2 * mouth_open
        up_raise = 0.03 * au["AU9"]
        low_drop = 0.09 * au["AU16"]

        # Nasolabial folds (smile AU12/AU6, disgust AU9).
        fold = 0.7 * au["AU12"] + 0.8 * au["AU9"] + 0.3 * au["AU6"]
        if fold > 0.1:
            colour = _mix(skin, line, 0.8 * min(fold, 1.0))
            for side in (-1, 1):
                pts = _bezier(
                    (side * 0.1, tip_y + 0.02),
                    (side * (half_w + 0.06), my - 0.08),
                    (side * (half_w + 0.03), my + corner_dy + 0.03),
                    7,
                )
                d.line(px(pts), fill=colour, width=thick)

        left = (-half_w, my + corner_dy)
        right = (half_w, my + corner_dy)
        inner_top_y = my - 0.35 * gap - up_raise
        inner_bot_y = my + 0.65 * gap + low_drop
        outer_top = _bezier(left, (0.0, inner_top_y - 2.0 * lip), right)
        inner_top = _bezier(left, (0.0, inner_top_y - 0.2 * lip), right)
        inner_bot = _bezier(left, (0.0, inner_bot_y + 0.2 * lip), right)
        outer_bot = _bezier(left, (0.0, inner_bot_y + 2.4 * lip), right)
        d.polygon(px(np.concatenate([outer_top, outer_bot[::-1]])), fill=a.lips)
        if inner_bot_y - inner_top_y > 0.012:
            cavity = np.concatenate([inner_top, inner_bot[::-1]])
            d.polygon(px(cavity), fill=(70, 20, 25))
            teeth_h = min(0.04, 0.5 * (inner_bot_y - inner_top_y))
            teeth = np.concatenate(
                [inner_top[2:-2], (inner_top[2:-2] + np.array([0.0, teeth_h]))[::-1]]
            )
            d.polygon(px(teeth), fill=(235, 230, 220))
            if au["AU16"] > 0.2:  # lower teeth bared by the lower-lip depressor
                low = np.concatenate(
                    [inner_bot[2:-2], (inner_bot[2:-2] - np.array([0.0, 0.025]))[::-1]]
                )
                d.polygon(px(low), fill=(225, 220, 210))
        d.line(px(inner_top), fill=_mix(a.lips, (0, 0, 0), 0.5), width=1)

        if occluder is not None:
            region, colour = occluder
            if region == "upper":
                top, bottom = a.eye_y - 0.45, a.eye_y + 0.17
            else:
                top, bottom = my - 0.33, 1.05
            x = hw + 0.1
            box = np.array([[-x, top], [x, top], [x, bottom], [-x, bottom]])
            d.polygon(px(box, False), fill=colour)
        return img
