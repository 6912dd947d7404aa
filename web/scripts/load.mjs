// Keeps the explorer open in headless Chromium for a while and reports what the page
// measured (window.__jeonStats, web/src/live.ts): events received over the stream,
// how far the stream lagged the polled head, and frame pacing. Run it while
// `jeon bench` loads the node (docs/web.md, "Figures"):
//
//   node scripts/load.mjs http://127.0.0.1:8080 SECONDS
import puppeteer from 'puppeteer-core';

const [url = 'http://127.0.0.1:8080', seconds = '60'] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--headless=new', '--disable-gpu'],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(`${url}/#/`, { waitUntil: 'load' });
  await page.waitForSelector('[data-testid=block-row]');
  const samples = [];
  for (let s = 0; s < Number(seconds); s++) {
    await new Promise((r) => setTimeout(r, 1000));
    const t0 = Date.now();
    const st = await page.evaluate(() => ({ ...window.__jeonStats, head: document.querySelector('[data-testid=head-height]')?.textContent }));
    st.evalMs = Date.now() - t0;
    samples.push(st);
    console.log(JSON.stringify({ t: s + 1, ...st }));
  }
  const last = samples.at(-1);
  const first = samples[0];
  console.log(JSON.stringify({
    seconds: Number(seconds),
    events: last.events,
    events_per_s: Math.round((last.events - first.events) / Math.max(1, samples.length - 1)),
    frames_per_s: Math.round((last.frames - first.frames) / Math.max(1, samples.length - 1)),
    frame_gap_ms_max: Math.round(last.frameGapMsMax),
    long_frames: last.longFrames,
    // Blocks without events send none, so the stream can only be compared with the
    // head where events flowed: the last event's block against the polled head.
    last_event_height: last.lastEventHeight,
    head_polled: last.headPolled,
    page_answer_ms_max: Math.max(...samples.map((x) => x.evalMs)),
  }));
} finally {
  await browser.close();
}
