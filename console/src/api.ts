// HTTP calls to /api/v1 with the session cookie and the CSRF token.
//
// The CSRF token is answered only by POST /session, so it is kept in localStorage under the
// person's login to survive a reload. A 401 (no session, expired, revoked) or a 403 `csrf`
// means the session is of no use any more: the app is told (onSessionLost) and shows sign-in.

import type { SessionPerson } from './types';

export const API = '/api/v1';
const CSRF_PREFIX = 'switchboard.csrf.';
const LAST_LOGIN = 'switchboard.login';

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string, public retryAfter: number | null = null) {
    super(message);
  }
}

let csrfToken: string | null = null;
let sessionLost: (() => void) | null = null;

export function onSessionLost(handler: () => void): void {
  sessionLost = handler;
}

function store(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export function rememberSession(login: string, token: string): void {
  csrfToken = token;
  const s = store();
  s?.setItem(CSRF_PREFIX + login, token);
  s?.setItem(LAST_LOGIN, login);
}

export function forgetSession(login: string | null): void {
  csrfToken = null;
  if (login) store()?.removeItem(CSRF_PREFIX + login);
}

/** Picks the token kept for this login (after a reload); false when there is none. */
export function restoreSession(login: string, answered?: string): boolean {
  const token = answered || store()?.getItem(CSRF_PREFIX + login) || null;
  csrfToken = token;
  if (answered) rememberSession(login, answered);
  return token !== null;
}

export function lastLogin(): string {
  return store()?.getItem(LAST_LOGIN) || '';
}

const CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export async function request<T>(method: string, path: string, body?: unknown, opts: { quiet401?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (CHANGES.has(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(API + path, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'network error');
  }
  if (res.status === 204) return undefined as T;
  let data: any = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const code: string = data?.error?.code ?? 'http_' + res.status;
    const message: string = data?.error?.message ?? res.statusText;
    const ra = res.headers.get('Retry-After');
    const err = new ApiError(res.status, code, message, ra && /^\d+$/.test(ra) ? parseInt(ra, 10) : null);
    if ((res.status === 401 && !opts.quiet401) || (res.status === 403 && code === 'csrf')) sessionLost?.();
    throw err;
  }
  return data as T;
}

export const get = <T>(path: string) => request<T>('GET', path);
export const post = <T>(path: string, body: unknown) => request<T>('POST', path, body);
export const patch = <T>(path: string, body: unknown) => request<T>('PATCH', path, body);
export const put = <T>(path: string, body: unknown) => request<T>('PUT', path, body);
export const del = <T>(path: string) => request<T>('DELETE', path);

export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? '?' + s : '';
}

export const enc = encodeURIComponent;

export async function signIn(login: string, password: string): Promise<SessionPerson> {
  const r = await request<{ person: SessionPerson; csrf_token: string }>('POST', '/session', { login, password }, { quiet401: true });
  rememberSession(r.person.login, r.csrf_token);
  return r.person;
}

/** Who is signed in, or null (401). */
export async function whoAmI(): Promise<{ person: SessionPerson; csrf_token?: string } | null> {
  try {
    return await request('GET', '/session', undefined, { quiet401: true });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}
