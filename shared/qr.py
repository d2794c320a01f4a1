"""QR images of badge tokens for the badge page, e-mails and print."""

from __future__ import annotations

import io
import re

import qrcode
import zxingcpp
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.svg import SvgPathFillImage
from qrcode.util import MODE_ALPHA_NUM, QRData

QR_MIN_DISPLAY_PX = 160
QR_BORDER_MODULES = 4
# QR alphanumeric mode's characters: anything else would silently need byte mode.
_ALPHANUMERIC = re.compile(r"[0-9A-Z $%*+\-./:]+")


def _build_qr(token: str, box_size: int = 8, image_factory: type | None = None) -> qrcode.QRCode:
    """A fitted QR code holding the token in alphanumeric mode."""
    qr = qrcode.QRCode(
        error_correction=ERROR_CORRECT_M,
        box_size=box_size,
        border=QR_BORDER_MODULES,
        image_factory=image_factory,
    )
    # An explicit mode fails loudly on lowercase/odd input instead of silently using byte
    # mode, which would push a 122-char token past version 6.
    qr.add_data(QRData(token, mode=MODE_ALPHA_NUM))
    qr.make(fit=True)
    return qr


def qr_version(token: str) -> int:
    """The QR version (size) the token needs at error correction M."""
    return _build_qr(token).version


def qr_png(token: str, box_size: int = 8) -> bytes:
    """A 1-bit black-on-white PNG of the token."""
    if not _ALPHANUMERIC.fullmatch(token):
        raise ValueError("a badge token is uppercase QR-alphanumeric text")
    # zxing-cpp encodes (and picks the mask) in C++: ~1 ms where qrcode takes ~9 ms per code.
    code = zxingcpp.create_barcode(token, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    pixels = code.to_image(scale=1, add_quiet_zones=True)
    height, width = pixels.shape[:2]
    modules = Image.frombuffer("L", (width, height), bytes(pixels), "raw", "L", 0, 1)
    # Scaled up last, as 1-bit: converting the full-size greyscale image costs twice as much.
    size = (width * box_size, height * box_size)
    image = modules.convert("1").resize(size, Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg(token: str) -> bytes:
    """A standalone, scalable SVG of the token on a white background."""
    # qrcode's SVG unit is box_size / 10 mm, so 10 makes one module exactly one viewBox unit.
    image = _build_qr(token, box_size=10, image_factory=SvgPathFillImage).make_image()
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def qr_text_png(text: str, box_size: int = 6) -> bytes:
    """A PNG QR of any text (e.g. a device enrolment link), in whichever mode fits."""
    code = qrcode.QRCode(
        error_correction=ERROR_CORRECT_M, box_size=box_size, border=QR_BORDER_MODULES
    )
    code.add_data(text)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()
