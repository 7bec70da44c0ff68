import { createContext } from 'preact';
import type { Person, Queue, SessionPerson } from '../types';

export interface AppState {
  me: SessionPerson;
  /** null: the list is not available to this caller (403). */
  people: Person[] | null;
  queues: Queue[];
  /** The time the waiting durations are computed from; moves every minute. */
  now: number;
  /** Increases when the language changes, so views re-render. */
  langVersion: number;
}

export const AppContext = createContext<AppState>(null as unknown as AppState);

export function personName(state: AppState, login: string | null): string {
  if (!login) return '';
  const p = state.people?.find((x) => x.login === login);
  return p ? p.name + ' (' + login + ')' : login;
}
