"""Helpers of the browser tests: a live HTTP server, a fake-camera video, headless Chromium."""

from __future__ import annotations

import io
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

from PIL import Image
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FRAME_SIZE = (640, 480)
# From FIELD-NOTES.md: what headless Debian Chromium needs to run quietly with a fake camera.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


@contextmanager
def live_server(app, prefix: str = "/checkin"):
    """Serve a WSGI app under a URL prefix ("" for the root) on 127.0.0.1; yield its base URL."""
    mounted = DispatcherMiddleware(NotFound(), {prefix: app}) if prefix else app
    server = make_server("127.0.0.1", 0, mounted, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{prefix}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def badge_frame(png: bytes | None) -> Image.Image:
    """A white camera frame with the badge's QR image (if any) pasted in the middle."""
    frame = Image.new("RGB", FRAME_SIZE, "white")
    if png is not None:
        code = Image.open(io.BytesIO(png)).convert("RGB")
        frame.paste(code, ((FRAME_SIZE[0] - code.width) // 2, (FRAME_SIZE[1] - code.height) // 2))
    return frame


def write_y4m(frame: Image.Image, path: Path, frames: int = 30) -> Path:
    """Write a still Y4M video (4:2:0) of one frame; Chromium's fake camera loops it."""
    width, height = frame.size
    y, cb, cr = frame.convert("YCbCr").split()
    half = (width // 2, height // 2)
    planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with path.open("wb") as video:
        video.write(f"YUV4MPEG2 W{width} H{height} F15:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            video.write(b"FRAME\n" + planes)
    return path


def launch_chromium(playwright, video: Path):
    """Headless Debian Chromium whose camera plays `video`."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={video}"],
    )
