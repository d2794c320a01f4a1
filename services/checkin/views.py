"""Server-rendered pages of the check-in service: the door scanner."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from services.checkin.messages import MESSAGES
from shared.access import PUBLIC, allow
from shared.web import translate

pages = Blueprint("pages", __name__, template_folder="templates")
# Texts the scanner's script shows; rendered into the page as a JSON data block (not executed).
SCRIPT_TEXT_PREFIXES = ("scanner.", "status.")


@pages.route("/scan")
@allow(PUBLIC)
def scanner():
    """The door scanner page; it enrols with a device token and calls the API with it."""
    texts = {code: translate(code) for code in MESSAGES if code.startswith(SCRIPT_TEXT_PREFIXES)}
    response = render_template(
        "scanner.html", texts=texts, api_base=f"{request.script_root}/api/v1/"
    )
    # The page is the same for every device (the token lives in the browser), so it may be cached
    # briefly, but a new release must reach the doors quickly.
    return response, 200, {"Cache-Control": "no-cache"}
