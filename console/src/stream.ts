// The live stream: a WebSocket to /api/v1/stream that resumes with ?since=<last id>.
//
// Ids are decimal strings that may exceed 2^53; they are kept as strings and never compared as
// numbers (the server sends them in increasing order). Close 4001: the session ended. Close 1013:
// the server found us too slow; reconnect at once with the last id. Anything else: reconnect with
// a growing delay, and ask GET /session first so an expired session leads to sign-in.

import type { StreamEvent } from './types';
import { whoAmI } from './api';

export type StreamStatus = 'connecting' | 'live' | 'offline';

export interface StreamHandlers {
  event(e: StreamEvent): void;
  /** Events may have been missed (first connection, or the server said reset): reload. */
  reload(): void;
  signedOut(): void;
  status(s: StreamStatus): void;
}

export class LiveStream {
  private ws: WebSocket | null = null;
  private lastId: string | null = null;
  private attempt = 0;
  private timer: number | undefined;
  private stopped = false;

  constructor(private h: StreamHandlers) {}

  get last(): string | null {
    return this.lastId;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close(1000);
      this.ws = null;
    }
  }

  private connect(): void {
    if (this.stopped) return;
    this.h.status('connecting');
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const since = this.lastId !== null ? '?since=' + encodeURIComponent(this.lastId) : '';
    let ws: WebSocket;
    try {
      ws = new WebSocket(scheme + '//' + location.host + '/api/v1/stream' + since);
    } catch {
      this.retry(false);
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      this.h.status('live');
      // Without a last id nothing is replayed: what changed before this moment comes from a reload.
      if (this.lastId === null) this.h.reload();
    };
    ws.onmessage = (m: MessageEvent) => {
      if (typeof m.data !== 'string') return;
      let e: StreamEvent;
      try {
        e = JSON.parse(m.data);
      } catch {
        return;
      }
      if (!e || typeof e.type !== 'string') return;
      if (e.type === 'reset') {
        this.h.reload();
        return;
      }
      if (typeof e.id === 'string' && /^[0-9]+$/.test(e.id)) this.lastId = e.id;
      this.h.event(e);
    };
    ws.onclose = (c: CloseEvent) => {
      this.ws = null;
      if (this.stopped) return;
      this.h.status('offline');
      if (c.code === 4001) {
        this.h.signedOut();
        return;
      }
      if (c.code === 1013) {
        this.connect();
        return;
      }
      this.retry(opened);
    };
  }

  private retry(wasOpen: boolean): void {
    const base = Math.min(15000, 500 * 2 ** Math.min(this.attempt, 5));
    this.attempt++;
    const delay = wasOpen && this.attempt === 1 ? 200 : base / 2 + Math.random() * (base / 2);
    this.timer = window.setTimeout(async () => {
      if (this.stopped) return;
      try {
        // A refused upgrade looks like any other close: ask whether the session is still there.
        if ((await whoAmI()) === null) {
          this.h.signedOut();
          return;
        }
      } catch {
        // the daemon is unreachable: try the stream again later
      }
      this.connect();
    }, delay);
  }
}
