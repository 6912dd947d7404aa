// jsQR alone, as dist/qr.js: the wallet loads it when the camera is opened.
export { default } from 'jsqr';
