import io
import xml.etree.ElementTree as ET

import pytest
import qrcode
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from qrcode.util import MODE_ALPHA_NUM

from shared.badge_tokens import BadgeClaims, sign_badge_token
from shared.qr import QR_MIN_DISPLAY_PX, qr_png, qr_svg, qr_version
from tests.qr_codes import read_qr_codes

KEY = Ed25519PrivateKey.generate()
TOKEN = sign_badge_token(BadgeClaims(7, 123456, 3, 1), KEY)
MAX_TOKEN = sign_badge_token(BadgeClaims(2**32 - 1, 2**32 - 1, 2**16 - 1, 255), KEY)
SVG_NS = "{http://www.w3.org/2000/svg}"


def png_image(token: str, box_size: int = 8) -> Image.Image:
    return Image.open(io.BytesIO(qr_png(token, box_size)))


def colours(image: Image.Image) -> set[int]:
    return {colour for _, colour in image.getcolors()}


def decoded_texts(image: Image.Image) -> list[str]:
    return [barcode.text for barcode in read_qr_codes(image)]


def test_uppercase_base32_token_is_encoded_in_alphanumeric_mode():
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(TOKEN, optimize=0)
    assert qr.data_list[0].mode == MODE_ALPHA_NUM


@pytest.mark.parametrize("token", [TOKEN, MAX_TOKEN])
def test_token_fits_qr_version_6_or_less_at_error_correction_m(token):
    # Byte mode would need version 7 for 122 chars, so this also proves alphanumeric mode.
    assert qr_version(token) <= 6


def test_lowercase_token_is_refused_rather_than_silently_byte_encoded():
    with pytest.raises(ValueError):
        qr_png(TOKEN.lower())


def test_png_decodes_back_to_exactly_the_token():
    assert decoded_texts(png_image(MAX_TOKEN)) == [MAX_TOKEN]


@pytest.mark.parametrize("resample", [Image.Resampling.LANCZOS, Image.Resampling.BILINEAR])
def test_png_still_decodes_when_shown_at_the_minimum_display_size(resample):
    # Pillow resizes 1-bit images with NEAREST whatever is asked, so smooth it as a browser
    # would by going through greyscale first.
    size = (QR_MIN_DISPLAY_PX, QR_MIN_DISPLAY_PX)
    small = png_image(MAX_TOKEN).convert("L").resize(size, resample)
    assert decoded_texts(small) == [MAX_TOKEN]


def test_png_is_black_on_white_with_a_four_module_quiet_zone():
    box = 8
    image = png_image(TOKEN, box).convert("L")
    modules = 17 + 4 * qr_version(TOKEN) + 2 * 4
    assert image.size == (modules * box, modules * box)
    assert colours(image) == {0, 255}
    quiet = image.crop((0, 0, image.width, 4 * box))
    assert colours(quiet) == {255}
    assert image.getpixel((4 * box, 4 * box)) == 0


def test_png_is_a_bilevel_image():
    assert png_image(TOKEN).mode in {"1", "L"}


def test_box_size_scales_the_png():
    assert png_image(TOKEN, 4).width * 2 == png_image(TOKEN, 8).width


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(0, 2**16 - 1))
def test_any_claims_produce_a_small_decodable_qr(event_id, badge_id, generation):
    token = sign_badge_token(BadgeClaims(event_id, badge_id, generation, 1), KEY)
    assert qr_version(token) <= 6
    size = (QR_MIN_DISPLAY_PX, QR_MIN_DISPLAY_PX)
    small = png_image(token).convert("L").resize(size, Image.Resampling.LANCZOS)
    assert decoded_texts(small) == [token]


def test_svg_is_well_formed_scalable_and_on_white():
    root = ET.fromstring(qr_svg(TOKEN))
    assert root.tag == f"{SVG_NS}svg"
    side = 17 + 4 * qr_version(TOKEN) + 2 * 4
    assert root.get("viewBox") == f"0 0 {side} {side}"
    rect = root.find(f"{SVG_NS}rect")
    assert rect is not None and rect.get("fill") == "white"
    assert root.find(f"{SVG_NS}path").get("d")
