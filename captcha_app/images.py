"""The PNG of a challenge, drawn by django-simple-captcha at exactly the size the client asked for.

The library draws at its font's natural size (its size settings are process-wide, and each request
asks for its own), so we pick the closest of its scales and resize to width × height.
"""
from io import BytesIO

from captcha.views import captcha_image
from PIL import Image

NATURAL_HEIGHT = 30  # pixels, of the library's drawing at scale 1 with CAPTCHA_FONT_SIZE = 22
MAX_SCALE = 3


def challenge_png(*, hashkey: str, width: int, height: int) -> bytes | None:
    """The PNG of django-simple-captcha's challenge `hashkey`, or None if the library no longer has it."""
    scale = min(MAX_SCALE, max(1, round(height / NATURAL_HEIGHT)))
    # The library's view seeds the noise and rotations with the key: every fetch of one challenge
    # shows the same image, so fetching it many times does not help average the noise away.
    drawn = captcha_image(None, hashkey, scale=scale)
    if drawn.status_code != 200:
        return None
    image = Image.open(BytesIO(drawn.content)).convert("RGB")
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    out = BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
