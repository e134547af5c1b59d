"""Real image files made with Pillow, and some that only pretend to be images."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def image_bytes(image_format: str = "PNG", size: tuple[int, int] = (64, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 40)).save(buffer, format=image_format)
    return buffer.getvalue()


def image_upload(name: str = "volantino.png", image_format: str = "PNG", **kwargs):
    content_type = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}.get(
        image_format, "application/octet-stream"
    )
    return SimpleUploadedFile(name, image_bytes(image_format, **kwargs), content_type=content_type)


def truncated_jpeg_upload():
    content = image_bytes("JPEG", size=(400, 300))
    return SimpleUploadedFile("rotto.jpg", content[: len(content) // 2], content_type="image/jpeg")


def fake_image_upload():
    return SimpleUploadedFile("finto.png", b"this is not an image", content_type="image/png")


def image_bomb_upload():
    """A PNG of a few kilobytes that decodes to 400 million pixels."""
    buffer = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buffer, format="PNG", optimize=True)
    return SimpleUploadedFile("bomba.png", buffer.getvalue(), content_type="image/png")
