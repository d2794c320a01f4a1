"""QR images of badge tokens for the badge page, e-mails and print."""

from __future__ import annotations

import io
import re
import struct
import zlib

import qrcode
import zxingcpp
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.svg import SvgPathFillImage
from qrcode.util import MODE_ALPHA_NUM, QRData

QR_MIN_DISPLAY_PX = 160
QR_BORDER_MODULES = 4
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
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
    modules = code.to_image(scale=1, add_quiet_zones=True)
    height, width = modules.shape[:2]
    return _bilevel_png(bytes(modules), width, height, box_size)


def _bilevel_png(pixels: bytes, width: int, height: int, box: int) -> bytes:
    """A 1-bit greyscale PNG of black (0) and white (255) pixels, each drawn box x box."""
    # Written directly: Pillow's convert, resize and save took ~0.4 ms of a 0.6 ms QR.
    rows = []
    for y in range(height):
        rows += [b"\x00" + _scanline(pixels[y * width : (y + 1) * width], box)] * box
    header = struct.pack(">IIBBBBB", width * box, height * box, 1, 0, 0, 0, 0)
    chunks = ((b"IHDR", header), (b"IDAT", zlib.compress(b"".join(rows))), (b"IEND", b""))
    return PNG_SIGNATURE + b"".join(_chunk(kind, data) for kind, data in chunks)


def _scanline(row: bytes, box: int) -> bytes:
    """One row of 0/255 pixels as packed 1-bit pixels, each repeated `box` times."""
    if box == 8:  # a pixel becomes one whole byte: 0x00 or 0xFF, the row as it is
        return row
    bits = "".join(("1" if pixel else "0") * box for pixel in row)
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def _chunk(kind: bytes, data: bytes) -> bytes:
    """A PNG chunk: length, type, data and the CRC of type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


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
