"""Question images: checked by their bytes, stored once per content, served from this site only."""

import hashlib
from dataclasses import dataclass

from django.core.files.base import ContentFile

from .models import QuizImage

MAX_IMAGE_BYTES = 2 * 1024 * 1024
FORMATS = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "svg": "image/svg+xml",
}
ALLOWED = ", ".join(sorted({"png", "jpg", "gif", "webp", "svg"}))


class ImageInvalid(ValueError):
    pass


@dataclass(frozen=True)
class ImageData:
    name: str
    data: bytes
    content_type: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml")) and b"<svg" in data[:4096].lower():
        return "image/svg+xml"
    return None


def check_image_file(name: str, size: int) -> None:
    """ImageInvalid if the name or the size alone rule the file out (before its bytes are read)."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in FORMATS:
        raise ImageInvalid(f"{name}: images must be {ALLOWED} files")
    if size > MAX_IMAGE_BYTES:
        raise ImageInvalid(f"{name}: images must be at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB "
                           f"(this one is {size / (1024 * 1024):.1f} MB)")


def check_image(name: str, data: bytes) -> ImageData:
    """The image if its name and its bytes agree on an allowed format, else ImageInvalid saying why."""
    check_image_file(name, len(data))
    extension = name.rsplit(".", 1)[-1].lower()
    sniffed = _sniff(data)
    if sniffed != FORMATS[extension]:
        raise ImageInvalid(f"{name}: the file is not a valid {extension.upper()} image")
    return ImageData(name, data, sniffed)


def store_image(image: ImageData) -> QuizImage:
    """The stored image with these bytes, saving it the first time."""
    existing = QuizImage.objects.filter(sha256=image.sha256).first()
    if existing:
        return existing
    extension = image.name.rsplit(".", 1)[-1].lower()
    stored = QuizImage(sha256=image.sha256, content_type=image.content_type, original_name=image.name[:200])
    stored.file.save(f"{image.sha256[:24]}.{extension}", ContentFile(image.data), save=False)
    stored.save()
    return stored
