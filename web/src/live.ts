// The live head: one event stream (SSE, read by the SDK) shared by every page, plus a
// status poll for blocks without events. Updates are coalesced to one per animation
// frame, so a chain finalizing thousands of transactions a second does not freeze the
// page; `window.__jeonStats` exposes what the page measured (the browser tests and the
// figures in docs/web.md read it).
import { node } from './api.ts';

export interface Head {
  height: number;
  time_ms: number;
}

export interface LiveStats {
  events: number;
  lastEventHeight: number;
  headPolled: number;
  frames: number;
  frameGapMsMax: number;
  longFrames: number;
}

const stats: LiveStats = { events: 0, lastEventHeight: 0, headPolled: 0, frames: 0, frameGapMsMax: 0, longFrames: 0 };
(window as unknown as { __jeonStats: LiveStats }).__jeonStats = stats;

type Listener = (head: Head) => void;
const listeners = new Set<Listener>();
let head: Head | null = null;
let started = false;
let scheduled = false;

function publish(): void {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    if (head) for (const l of listeners) l(head);
  });
}

function raise(h: Head): void {
  if (head === null || h.height > head.height) {
    head = h;
    publish();
  }
}

async function follow(): Promise<void> {
  for (;;) {
    try {
      const s = await node.status();
      raise({ height: s.height, time_ms: s.time_ms });
      for await (const ev of node.events({ lastEventId: `${s.height}-18446744073709551615` })) {
        stats.events++;
        if (typeof ev.height === 'number' && ev.height > stats.lastEventHeight) {
          stats.lastEventHeight = ev.height;
          if (head === null || ev.height > head.height) raise({ height: ev.height, time_ms: Date.now() });
        }
      }
    } catch {
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

async function poll(): Promise<void> {
  for (;;) {
    try {
      const s = await node.status();
      stats.headPolled = s.height;
      raise({ height: s.height, time_ms: s.time_ms });
    } catch {
      // the next poll tries again; pages show their own errors
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Calls `l` with the head now and with every new head; returns the unsubscribe. */
export function onHead(l: Listener): () => void {
  listeners.add(l);
  if (head) l(head);
  if (!started) {
    started = true;
    void follow();
    void poll();
  }
  return () => listeners.delete(l);
}

/** Frame pacing: the longest gap between animation frames and how many exceeded 50 ms. */
export function startFrameStats(): void {
  let last = performance.now();
  const tick = (t: number) => {
    const gap = t - last;
    last = t;
    stats.frames++;
    if (document.visibilityState === 'visible') {
      stats.frameGapMsMax = Math.max(stats.frameGapMsMax, gap);
      if (gap > 50) stats.longFrames++;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}
