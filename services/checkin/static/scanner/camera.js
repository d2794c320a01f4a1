// The camera: frames drawn to a canvas a few times a second and decoded by the vendored
// @zxing/library (the global `ZXing`, loaded by a classic script before this module).

import { $, state, t } from "./core.js";

const FRAME_MS = 150; // ~6 decodes a second: enough for a held badge, light on a phone
const FRAME_MAX_SIDE = 640; // a version-6 code held at a door still has ≥ 3 px per module
let decoder = null;

export async function startCamera(onCode) {
  $("camera-start").hidden = true;
  if (!navigator.mediaDevices?.getUserMedia || typeof ZXing === "undefined") return cameraOff();
  $("camera-status").textContent = t("scanner.camera_starting");
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 } },
      audio: false,
    });
    const video = $("camera");
    video.srcObject = stream;
    await video.play();
  } catch {
    return cameraOff();
  }
  $("camera-status").textContent = t("scanner.camera_on");
  decoder = makeDecoder();
  setTimeout(() => readFrame(onCode), FRAME_MS);
}

function cameraOff() {
  $("camera-status").textContent = t("scanner.camera_off");
  $("camera-start").hidden = !navigator.mediaDevices?.getUserMedia;
}

export function stopCamera() {
  const video = $("camera");
  if (video.srcObject) video.srcObject.getTracks().forEach((track) => track.stop());
  video.srcObject = null;
  decoder = null;
}

function makeDecoder() {
  const hints = new Map([
    [ZXing.DecodeHintType.POSSIBLE_FORMATS, [ZXing.BarcodeFormat.QR_CODE]],
    [ZXing.DecodeHintType.TRY_HARDER, true],
  ]);
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return { reader: new ZXing.QRCodeReader(), hints, canvas, context };
}

function readFrame(onCode) {
  if (!decoder) return;
  if (!state.token) return stopCamera(); // the device was refused or forgotten
  const video = $("camera");
  if (video.readyState >= 2 && !document.hidden && !$("panel-scan").hidden) {
    const text = decodeFrame(video);
    if (text) onCode(text);
  }
  setTimeout(() => readFrame(onCode), FRAME_MS);
}

function decodeFrame(video) {
  const { reader, hints, canvas, context } = decoder;
  const scale = Math.min(1, FRAME_MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
  const width = Math.round(video.videoWidth * scale);
  const height = Math.round(video.videoHeight * scale);
  if (!width || !height) return null;
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  context.drawImage(video, 0, 0, width, height);
  const source = new ZXing.RGBLuminanceSource(greys(context, width, height), width, height);
  try {
    const bitmap = new ZXing.BinaryBitmap(new ZXing.HybridBinarizer(source));
    return reader.decode(bitmap, hints).getText();
  } catch {
    return null; // no code in this frame (zxing reports that by throwing)
  }
}

function greys(context, width, height) {
  const rgba = context.getImageData(0, 0, width, height).data;
  const luminance = new Uint8ClampedArray(width * height);
  for (let i = 0, j = 0; i < luminance.length; i += 1, j += 4) {
    luminance[i] = (rgba[j] * 306 + rgba[j + 1] * 601 + rgba[j + 2] * 117) >> 10;
  }
  return luminance;
}
