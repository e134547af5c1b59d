"""What an image must be to go to VolantinoPiù: a real JPEG, PNG or WebP within the size limit."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def validate_campaign_image(upload: File) -> None:
    """Decode the file with Pillow; refuse what is not a whole JPEG/PNG/WebP or too large."""
    limit = settings.MEDIA_UPLOAD_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            _("The image is %(size)s; the most VolantinoPiù accepts is %(limit)s.")
            % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
            code="too_large",
        )
    position = upload.tell() if hasattr(upload, "tell") else 0
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image_format = image.format
            if image.width * image.height > settings.MEDIA_IMAGE_MAX_PIXELS:
                # A few kilobytes can claim billions of pixels (an "image bomb"): refuse it
                # from its header, before decoding a single one.
                raise Image.DecompressionBombError
            image.verify()  # checks the structure (and PNG checksums)
        upload.seek(0)
        with Image.open(upload) as image:
            image.load()  # decodes every pixel: a truncated JPEG fails here
    except Image.DecompressionBombError:
        raise ValidationError(
            _("The image has too many pixels: the most accepted is %(limit)s million.")
            % {"limit": settings.MEDIA_IMAGE_MAX_PIXELS // 1_000_000},
            code="too_many_pixels",
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError(
            _("The file is not a readable image: upload a JPEG, PNG or WebP picture."),
            code="not_an_image",
        ) from None
    finally:
        upload.seek(position)
    if image_format not in ALLOWED_FORMATS:
        raise ValidationError(
            _("%(format)s images are not accepted: upload a JPEG, PNG or WebP picture.")
            % {"format": image_format or "?"},
            code="bad_format",
        )


def image_content_type(upload: File) -> str:
    upload.seek(0)
    with Image.open(upload) as image:
        content_type = ALLOWED_FORMATS.get(image.format or "", "application/octet-stream")
    upload.seek(0)
    return content_type
