"""The tests' one QR reader: QR codes only, as the door scanner reads them."""

import io

import zxingcpp
from PIL import Image


def read_qr_codes(image: Image.Image) -> list:
    """Every QR code zxing-cpp finds in `image`.

    Only the QR format is asked for: with every format on, a 1D reader now and then
    "finds" a short number in the QR's modules (CI saw '6632'), which no door scanner would.
    """
    return zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)


def qr_text_of_png(png: bytes) -> str:
    """The text of the one QR code in a PNG."""
    (code,) = read_qr_codes(Image.open(io.BytesIO(png)))
    return code.text
