// Fan-out of the live stream's events to whoever shows something they concern.

import type { StreamEvent } from './types';

type Listener = (e: StreamEvent | 'reload') => void;
const listeners = new Set<Listener>();

export function subscribe(l: Listener): () => void {
  listeners.add(l);
  return () => {
    listeners.delete(l);
  };
}

export function publish(e: StreamEvent | 'reload'): void {
  for (const l of Array.from(listeners)) l(e);
}
