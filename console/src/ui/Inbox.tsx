import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, enc, get, query } from '../api';
import { subscribe } from '../bus';
import { since, t, tv } from '../i18n';
import { plain, typing } from '../keys';
import type { Conversation, ListPage, SessionPerson, StreamEvent } from '../types';
import { ChannelBadge, ErrorBox, Tags } from './common';
import { AppContext, personName } from './context';
import { U } from './text';

type Tab = 'unassigned' | 'mine' | 'all';
const TABS: Tab[] = ['unassigned', 'mine', 'all'];
const TAB_KEY = 'switchboard.tab';

interface Filter {
  tab: Tab;
  queue: string; // '' any, 'none', or a name
  state: string; // 'open,pending' or 'all' or one state
}

function savedTab(): Tab {
  try {
    const v = localStorage.getItem(TAB_KEY) as Tab | null;
    if (v && TABS.includes(v)) return v;
  } catch {
    // default below
  }
  return 'unassigned';
}

function params(f: Filter) {
  return {
    assignee: f.tab === 'unassigned' ? 'none' : f.tab === 'mine' ? 'me' : null,
    queue: f.queue || null,
    state: f.state,
  };
}

function matches(c: Conversation, f: Filter, me: SessionPerson): boolean {
  if (f.tab === 'unassigned' && c.assignee !== null) return false;
  if (f.tab === 'mine' && c.assignee !== me.login) return false;
  if (f.queue === 'none' ? c.queue !== null : f.queue && c.queue !== f.queue) return false;
  const states = f.state === 'all' ? ['open', 'pending', 'resolved'] : f.state.split(',');
  return states.includes(c.state);
}

// The server's default order (sort=waiting): those waiting longest first, then the newest activity.
function compare(a: Conversation, b: Conversation): number {
  if (a.waiting_since && b.waiting_since) return a.waiting_since < b.waiting_since ? -1 : a.waiting_since > b.waiting_since ? 1 : 0;
  if (a.waiting_since) return -1;
  if (b.waiting_since) return 1;
  const x = a.last_message_at || '';
  const y = b.last_message_at || '';
  return x > y ? -1 : x < y ? 1 : 0;
}

export function Inbox(props: { openId: string | null }) {
  const app = useContext(AppContext);
  const [filter, setFilter] = useState<Filter>({ tab: savedTab(), queue: '', state: 'open,pending' });
  const [items, setItems] = useState<Conversation[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [selected, setSelected] = useState<string | null>(props.openId);
  const [text, setText] = useState('');
  const generation = useRef(0);
  const state = useRef({ filter, items, cursor });
  state.current = { filter, items, cursor };

  async function load(f: Filter, after: string | null) {
    const gen = ++generation.current;
    setLoading(true);
    try {
      const page = await get<ListPage<Conversation>>('/conversations' + query({ ...params(f), limit: 50, cursor: after }));
      if (gen !== generation.current) return;
      setItems((old) => {
        if (!after) return page.items;
        const seen = new Set(old.map((c) => c.id));
        return old.concat(page.items.filter((c) => !seen.has(c.id)));
      });
      setCursor(page.next_cursor);
      setError(null);
    } catch (e) {
      if (gen === generation.current) setError(e);
    } finally {
      if (gen === generation.current) setLoading(false);
    }
  }

  useEffect(() => {
    load(filter, null);
  }, [filter]);

  useEffect(() => {
    if (props.openId) setSelected(props.openId);
  }, [props.openId]);

  // Live changes: the rows an event concerns are read again and put in place (or taken out).
  useEffect(() => {
    const pending = new Set<string>();
    let timer: number | undefined;
    const flush = async () => {
      const ids = Array.from(pending);
      pending.clear();
      for (const id of ids) {
        let row: Conversation | null = null;
        try {
          row = await get<Conversation>('/conversations/' + enc(id));
        } catch (e) {
          if (!(e instanceof ApiError && e.status === 404)) continue;
        }
        const { filter: f } = state.current;
        setItems((old) => {
          const rest = old.filter((c) => c.id !== id);
          if (!row || !matches(row, f, app.me)) return rest;
          const slim: Conversation = { ...row };
          const pos = rest.findIndex((c) => compare(slim, c) < 0);
          // Beyond the loaded pages it comes with "load more".
          if (pos < 0 && state.current.cursor !== null && old.every((c) => c.id !== id)) return rest;
          const at = pos < 0 ? rest.length : pos;
          return rest.slice(0, at).concat([slim], rest.slice(at));
        });
      }
    };
    return subscribe((e: StreamEvent | 'reload') => {
      if (e === 'reload') {
        load(state.current.filter, null);
        return;
      }
      if (!e.conversation_id || e.type === 'note.created' || e.type === 'message.updated') return;
      pending.add(e.conversation_id);
      window.clearTimeout(timer);
      timer = window.setTimeout(flush, 30);
    });
  }, [app.me]);

  const needle = text.trim().toLowerCase();
  const visible = needle
    ? items.filter(
        (c) =>
          c.customer.display_name.toLowerCase().includes(needle) || c.tags.some((tag) => tag.toLowerCase().includes(needle)),
      )
    : items;

  // j/k and the arrows move the selection; Enter opens it.
  const visibleRef = useRef(visible);
  visibleRef.current = visible;
  const selectedRef = useRef(selected);
  selectedRef.current = selected;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (typing(e) || !plain(e) || document.querySelector('.overlay')) return;
      const list = visibleRef.current;
      if (!list.length) return;
      const idx = list.findIndex((c) => c.id === selectedRef.current);
      let next = -1;
      if (e.key === 'j' || e.key === 'ArrowDown') next = idx < 0 ? 0 : Math.min(list.length - 1, idx + 1);
      else if (e.key === 'k' || e.key === 'ArrowUp') next = idx < 0 ? 0 : Math.max(0, idx - 1);
      else if (e.key === 'Enter') {
        const el = e.target as HTMLElement;
        if (el && (el.tagName === 'BUTTON' || (el.tagName === 'A' && !el.classList.contains('row')))) return;
        if (idx >= 0) {
          e.preventDefault();
          location.hash = '#/c/' + list[idx].id;
        }
        return;
      } else return;
      e.preventDefault();
      const id = list[next].id;
      setSelected(id);
      document.getElementById('row-' + id)?.focus();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  function change(f: Partial<Filter>) {
    const nf = { ...filter, ...f };
    if (f.tab) {
      try {
        localStorage.setItem(TAB_KEY, f.tab);
      } catch {
        // not remembered
      }
    }
    setItems([]);
    setCursor(null);
    setFilter(nf);
  }

  return (
    <section class="inbox" aria-labelledby="inbox-title">
      <h1 id="inbox-title" class="sr-only">
        {t('inbox')}
      </h1>
      <div class="tabs" role="group" aria-label={t('tabs_label')}>
        {TABS.map((tab) => (
          <button
            type="button"
            key={tab}
            id={'tab-' + tab}
            class={filter.tab === tab ? 'tab active' : 'tab'}
            aria-pressed={filter.tab === tab}
            onClick={() => change({ tab })}
          >
            {t(('tab_' + tab) as 'tab_all')}
          </button>
        ))}
      </div>
      <div class="filters">
        <label>
          <span>{t('filter_queue')}</span>
          <select value={filter.queue} onChange={(e) => change({ queue: (e.target as HTMLSelectElement).value })}>
            <option value="">{t('any_queue')}</option>
            <option value="none">{t('no_queue')}</option>
            {app.queues.map((q) => (
              <option key={q.name} value={q.name}>
                {q.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>{t('filter_state')}</span>
          <select value={filter.state} onChange={(e) => change({ state: (e.target as HTMLSelectElement).value })}>
            <option value="open,pending">{t('state_open_pending')}</option>
            <option value="open">{t('state_open')}</option>
            <option value="pending">{t('state_pending')}</option>
            <option value="resolved">{t('state_resolved')}</option>
            <option value="all">{t('state_all')}</option>
          </select>
        </label>
        <label class="grow">
          <span>{t('filter_loaded')}</span>
          <input
            id="inbox-filter"
            type="search"
            value={text}
            title={t('filter_loaded_hint')}
            aria-describedby="inbox-filter-hint"
            onInput={(e) => setText((e.target as HTMLInputElement).value)}
          />
        </label>
        <span id="inbox-filter-hint" class="sr-only">
          {t('filter_loaded_hint')}
        </span>
      </div>
      <ErrorBox error={error} />
      <p class="sr-only" role="status">
        {t('conversations_count', { n: visible.length })}
      </p>
      <ul class="rows" id="inbox-rows">
        {visible.map((c) => (
          <li key={c.id} class={c.id === selected ? 'selected' : undefined}>
            <a
              class="row"
              id={'row-' + c.id}
              data-id={c.id}
              href={'#/c/' + c.id}
              aria-current={c.id === props.openId ? 'true' : undefined}
              onFocus={() => setSelected(c.id)}
            >
              <span class="row-head">
                <U text={c.customer.display_name} class="name" />
                <ChannelBadge channel={c.last_channel} />
                {c.unread > 0 && (
                  <span class="badge unread" title={t('unread', { n: String(c.unread) })}>
                    <span class="sr-only">{t('unread', { n: String(c.unread) })}</span>
                    <span aria-hidden="true">{c.unread}</span>
                  </span>
                )}
              </span>
              <span class="row-meta">
                <span class={c.waiting_since ? 'waiting' : 'quiet'}>
                  {c.waiting_since ? t('waiting', { t: since(c.waiting_since, app.now) }) : t('not_waiting')}
                </span>
                <span class={'badge state-' + c.state}>{tv('state_', c.state)}</span>
                {c.priority !== 'normal' && <span class={'badge prio-' + c.priority}>{tv('priority_', c.priority)}</span>}
                {c.queue && <span class="badge queue">{c.queue}</span>}
              </span>
              <span class="row-meta">
                <span class="assignee">
                  {c.assignee ? t('assigned_to', { who: personName(app, c.assignee) }) : t('unassigned')}
                </span>
                <Tags tags={c.tags} />
              </span>
            </a>
          </li>
        ))}
      </ul>
      {!loading && !visible.length && !error && <p class="empty">{t('no_conversations')}</p>}
      {loading && (
        <p class="empty" role="status">
          {t('loading')}
        </p>
      )}
      {cursor && !loading && (
        <button type="button" class="more" onClick={() => load(filter, cursor)}>
          {t('load_more')}
        </button>
      )}
    </section>
  );
}
