"""QR images of badge tokens for the badge page, e-mails and print."""

from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.svg import SvgPathFillImage
from qrcode.util import MODE_ALPHA_NUM, QRData

QR_MIN_DISPLAY_PX = 160
QR_BORDER_MODULES = 4


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
    image = _build_qr(token, box_size).make_image(fill_color="black", back_color="white")
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
