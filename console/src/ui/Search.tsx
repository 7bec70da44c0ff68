// The search results (GET /api/v1/search) in the inbox's place while the header's search box has
// a query: the customers it names, then the matching messages, newest first, paged.

import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, query } from '../api';
import { formatTime, t, tv } from '../i18n';
import type { SearchCustomer, SearchHit, SearchResult } from '../types';
import { ChannelBadge, errorText } from './common';
import { AppContext } from './context';
import { Highlight, U, queryWords } from './text';

const PAGE = 20;
const DEBOUNCE_MS = 250;

/** The links of the results, in order: customers, then messages. */
function links(root: HTMLElement | null): HTMLElement[] {
  return root ? Array.from(root.querySelectorAll<HTMLElement>('a.row')) : [];
}

export function focusFirstResult(): boolean {
  const first = links(document.getElementById('search-results'))[0];
  first?.focus();
  return !!first;
}

export function SearchResults(props: {
  q: string;
  openId: string | null;
  customerId: string | null;
  /** Increases when Enter is pressed in the search box: search now, then go to the first result. */
  enter: number;
  onClose(): void;
}) {
  useContext(AppContext); // re-render on language changes
  const q = props.q.trim();
  const [hits, setHits] = useState<SearchHit[]>([]);
  const [customers, setCustomers] = useState<SearchCustomer[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [shown, setShown] = useState(''); // the query the results above are of
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const generation = useRef(0);
  const root = useRef<HTMLElement>(null);
  const wantFocus = useRef(false);

  async function load(text: string, after: string | null) {
    const gen = ++generation.current;
    setLoading(true);
    try {
      const r = await get<SearchResult>('/search' + query({ q: text, limit: PAGE, cursor: after }));
      if (gen !== generation.current) return;
      setHits((old) => {
        if (!after) return r.items;
        const seen = new Set(old.map((h) => h.message.id));
        return old.concat(r.items.filter((h) => !seen.has(h.message.id)));
      });
      if (!after) setCustomers(r.customers);
      setCursor(r.next_cursor);
      setError(null);
    } catch (e) {
      if (gen !== generation.current) return;
      setError(e);
      if (!after) {
        setHits([]);
        setCustomers([]);
        setCursor(null);
      }
    } finally {
      if (gen === generation.current) {
        setShown(text);
        setLoading(false);
      }
    }
  }

  useEffect(() => {
    if (!q) return undefined;
    const timer = window.setTimeout(() => load(q, null), DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
  }, [q]);

  const enterSeen = useRef(props.enter); // an Enter of an earlier search is not for this one
  useEffect(() => {
    if (props.enter === enterSeen.current || !q) return;
    enterSeen.current = props.enter;
    wantFocus.current = true;
    if (shown !== q) load(q, null);
    else if (!loading) {
      wantFocus.current = false;
      focusFirstResult();
    }
  }, [props.enter]);

  useEffect(() => {
    if (wantFocus.current && !loading && shown === q) {
      wantFocus.current = false;
      focusFirstResult();
    }
  }, [loading, shown]);

  function onKey(e: KeyboardEvent) {
    if (e.ctrlKey || e.altKey || e.metaKey) return;
    if (e.key === 'Escape') {
      e.preventDefault();
      props.onClose();
      return;
    }
    const down = e.key === 'ArrowDown' || e.key === 'j';
    const up = e.key === 'ArrowUp' || e.key === 'k';
    if (!down && !up) return;
    const all = links(root.current);
    const at = all.indexOf(document.activeElement as HTMLElement);
    if (at < 0) return;
    e.preventDefault();
    e.stopPropagation();
    if (down && at + 1 < all.length) all[at + 1].focus();
    else if (up && at > 0) all[at - 1].focus();
    else if (up) document.getElementById('search-box')?.focus();
  }

  const words = queryWords(shown);
  const current = shown === q && !loading;
  return (
    <section class="inbox search-results" id="search-results" aria-labelledby="search-title" ref={root} onKeyDown={onKey}>
      <div class="search-head">
        <h1 id="search-title">{t('search_title')}</h1>
        <button type="button" class="link" id="search-close" onClick={props.onClose} aria-label={t('search_close')} title={t('search_close')}>
          ×
        </button>
      </div>
      {error ? (
        <p class="error" role="alert" id="search-error">
          {error instanceof ApiError && error.status === 400 ? t('search_bad', { message: error.message }) : errorText(error)}
        </p>
      ) : null}
      {customers.length > 0 && (
        <>
          <h2 class="search-sub">{t('search_customers')}</h2>
          <ul class="rows" id="search-customers">
            {customers.map((c) => (
              <li key={c.id}>
                <a class="row cust-hit" href={'#/u/' + c.id} data-id={c.id} aria-current={c.id === props.customerId ? 'true' : undefined}>
                  <span class="row-head">
                    <U text={c.display_name || '#' + c.id} class="name" />
                  </span>
                  {c.identities.map((i) => (
                    <span class="row-meta" key={i.kind + ':' + i.value}>
                      <span class="badge">{i.kind}</span>
                      <U text={i.value} />
                    </span>
                  ))}
                </a>
              </li>
            ))}
          </ul>
        </>
      )}
      {shown && !error && <h2 class="search-sub">{t('search_messages')}</h2>}
      <p class="sr-only" role="status">
        {shown && !error && !loading ? t('search_count', { n: hits.length }) : ''}
      </p>
      <ul class="rows" id="search-hits">
        {hits.map((h) => (
          <li key={h.message.id}>
            <a
              class="row hit"
              href={'#/c/' + h.message.conversation_id}
              data-id={h.message.conversation_id}
              data-message-id={h.message.id}
              aria-current={h.message.conversation_id === props.openId ? 'true' : undefined}
            >
              <span class="row-head">
                <U text={h.conversation.customer.display_name || h.message.sender} class="name" />
                <ChannelBadge channel={h.message.channel} />
              </span>
              <span class="row-meta">
                <span>{h.message.direction === 'out' ? t('outbound') : t('inbound')}</span>
                <time dateTime={h.message.created_at}>{formatTime(h.message.created_at)}</time>
                <span class={'badge state-' + h.conversation.state}>{tv('state_', h.conversation.state)}</span>
              </span>
              {h.message.subject && <U text={h.message.subject} class="subject" />}
              <span class="snippet">
                <Highlight text={h.message.text} words={words} />
                {h.message.truncated && '…'}
              </span>
            </a>
          </li>
        ))}
      </ul>
      {current && shown && !error && !hits.length && <p class="empty">{t('search_none')}</p>}
      {loading && (
        <p class="empty" role="status">
          {t('loading')}
        </p>
      )}
      {cursor && !loading && (
        <button type="button" class="more" id="search-more" onClick={() => load(shown, cursor)}>
          {t('load_more')}
        </button>
      )}
    </section>
  );
}
