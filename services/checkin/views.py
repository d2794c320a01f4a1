"""Server-rendered pages of the check-in service: the door scanner."""

from __future__ import annotations

from flask import Blueprint, render_template

from shared.access import PUBLIC, allow

pages = Blueprint("pages", __name__, template_folder="templates")


@pages.route("/scan")
@allow(PUBLIC)
def scanner():
    """The door scanner page; it enrols with a device token and calls the API with it."""
    return render_template("scanner.html")
