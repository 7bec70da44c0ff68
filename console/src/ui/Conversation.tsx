import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, enc, get, patch, query } from '../api';
import { subscribe } from '../bus';
import { formatTime, since, t, tv } from '../i18n';
import { plain, typing } from '../keys';
import type {
  ConversationDetail,
  ConversationMessages,
  Message,
  Note,
  Priority,
  StreamEvent,
  SystemMessage,
} from '../types';
import { ChannelBadge, ErrorBox, Tags, errorText } from './common';
import { AppContext, personName } from './context';
import { CustomerPanel } from './CustomerPanel';
import { ReplyBox } from './ReplyBox';
import { ExternalLink, RichText, U } from './text';

interface History {
  messages: Message[];
  notes: Note[];
  system: SystemMessage[];
  cursor: string | null;
}

function byTime<T extends { created_at: string; id: string }>(a: T, b: T): number {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? -1 : 1;
  return a.id.length !== b.id.length ? a.id.length - b.id.length : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function mergeById<T extends { id: string; created_at: string }>(old: T[], fresh: T[]): T[] {
  const map = new Map<string, T>();
  for (const x of old) map.set(x.id, x);
  for (const x of fresh) map.set(x.id, x);
  return Array.from(map.values()).sort(byTime);
}

const DOWNLOAD_RE = /^\/api\/v1\/messages\/[0-9]+\/attachments\/[0-9]+$/;

export function ConversationView(props: { id: string }) {
  const app = useContext(AppContext);
  const id = props.id;
  const [detail, setDetail] = useState<ConversationDetail | null>(null);
  const [history, setHistory] = useState<History | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [missing, setMissing] = useState(false);
  const [olderBusy, setOlderBusy] = useState(false);
  const [tagsText, setTagsText] = useState('');
  const [customerVersion, setCustomerVersion] = useState(0);
  const timelineEnd = useRef<HTMLDivElement>(null);
  const stick = useRef(true);

  async function reload() {
    try {
      const [d, m] = await Promise.all([
        get<ConversationDetail>('/conversations/' + enc(id)),
        get<ConversationMessages>('/conversations/' + enc(id) + '/messages'),
      ]);
      setDetail(d);
      setTagsText((old) => (document.activeElement?.id === 'conv-tags' ? old : d.tags.join(', ')));
      setHistory((old) => ({
        messages: mergeById(old?.messages ?? [], m.messages),
        notes: mergeById(old?.notes ?? [], m.notes),
        system: mergeById(old?.system ?? [], m.system_messages),
        cursor: old ? old.cursor : m.next_cursor,
      }));
      setError(null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) setMissing(true);
      else setError(e);
    }
  }

  useEffect(() => {
    reload();
    let timer: number | undefined;
    return subscribe((e: StreamEvent | 'reload') => {
      if (e !== 'reload') {
        if (e.conversation_id !== id) return;
        // A delivery state is shown at once; the rest comes with the reload below.
        if (e.type === 'message.updated' && typeof e.message_id === 'string') {
          const mid = e.message_id;
          const state = e.delivery_state as Message['delivery_state'];
          const err = (e.last_error as string | null) ?? null;
          setHistory((h) =>
            h ? { ...h, messages: h.messages.map((m) => (m.id === mid ? { ...m, delivery_state: state, last_error: err } : m)) } : h,
          );
        }
      }
      window.clearTimeout(timer);
      timer = window.setTimeout(reload, 30);
    });
  }, [id]);

  // Keep the newest message in view when it arrives, unless the agent scrolled up.
  useEffect(() => {
    if (stick.current) timelineEnd.current?.scrollIntoView({ block: 'end' });
  }, [history?.messages.length, history?.notes.length]);

  // a: assign to me.
  const detailRef = useRef(detail);
  detailRef.current = detail;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (typing(e) || !plain(e) || document.querySelector('.overlay')) return;
      if (e.key === 'a' && detailRef.current) {
        e.preventDefault();
        change({ assignee: app.me.login });
      } else if (e.key === 'r') {
        const box = document.getElementById('reply-text') ?? document.getElementById('reply-template');
        if (box) {
          e.preventDefault();
          box.focus();
        }
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [id, app.me.login]);

  async function change(body: Record<string, unknown>) {
    setActionError(null);
    try {
      await patch('/conversations/' + enc(id), body);
      await reload();
    } catch (e) {
      setActionError(e);
    }
  }

  async function older() {
    if (!history?.cursor) return;
    setOlderBusy(true);
    try {
      const m = await get<ConversationMessages>('/conversations/' + enc(id) + '/messages' + query({ cursor: history.cursor }));
      stick.current = false;
      setHistory((h) =>
        h
          ? {
              messages: mergeById(h.messages, m.messages),
              notes: mergeById(h.notes, m.notes),
              system: mergeById(h.system, m.system_messages),
              cursor: m.next_cursor,
            }
          : h,
      );
    } catch (e) {
      setError(e);
    } finally {
      setOlderBusy(false);
    }
  }

  if (missing) return <p class="error">{t('not_found')}</p>;
  if (!detail || !history) {
    return (
      <>
        <ErrorBox error={error} />
        <p role="status">{t('loading')}</p>
      </>
    );
  }

  type Item =
    | { kind: 'message'; at: string; id: string; m: Message }
    | { kind: 'note'; at: string; id: string; n: Note }
    | { kind: 'system'; at: string; id: string; s: SystemMessage };
  const items: Item[] = [
    ...history.messages.map((m) => ({ kind: 'message' as const, at: m.created_at, id: 'm' + m.id, m })),
    ...history.notes.map((n) => ({ kind: 'note' as const, at: n.created_at, id: 'n' + n.id, n })),
    ...history.system.map((s) => ({ kind: 'system' as const, at: s.created_at, id: 's' + s.id, s })),
  ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));

  const priorities: Priority[] = ['low', 'normal', 'high', 'urgent'];

  return (
    <div class="conversation" data-id={detail.id}>
      <div class="conv-main">
        <header class="conv-head">
          <h2 id="conv-title">
            <U text={detail.customer.display_name} class="name" />
          </h2>
          <div class="conv-badges">
            <ChannelBadge channel={detail.last_channel} />
            <span class={'badge state-' + detail.state} id="conv-state">
              {tv('state_', detail.state)}
            </span>
            <span class={'badge prio-' + detail.priority}>
              {t('priority')}: {tv('priority_', detail.priority)}
            </span>
            {detail.waiting_since && <span class="waiting">{t('waiting', { t: since(detail.waiting_since, app.now) })}</span>}
          </div>
          <Tags tags={detail.tags} />
          <p class="why" id="conv-why">
            <strong>{t('why')}: </strong>
            {detail.why ? (
              detail.why.rule !== null ? (
                <>
                  {t('why_rule')}{' '}
                  <q>
                    <U text={detail.why.rule} />
                  </q>
                </>
              ) : (
                t('why_no_rule')
              )
            ) : (
              '—'
            )}
          </p>
          {detail.why && (
            <details class="decision">
              <summary>{t('decision')}</summary>
              <pre dir="ltr" class="u">
                {JSON.stringify(detail.why.decision, null, 2)}
              </pre>
            </details>
          )}
        </header>
        <section class="actions" aria-label={t('actions')}>
          <button type="button" id="assign-me" onClick={() => change({ assignee: app.me.login })} disabled={detail.assignee === app.me.login}>
            {t('assign_to_me')}
          </button>
          <label>
            <span>{t('assign_to')}</span>
            <select
              id="conv-assignee"
              value={detail.assignee ?? ''}
              onChange={(e) => {
                const v = (e.target as HTMLSelectElement).value;
                change({ assignee: v || null });
              }}
            >
              <option value="">{t('nobody')}</option>
              {app.people
                ? app.people.map((p) => (
                    <option key={p.login} value={p.login}>
                      {p.name} ({p.login})
                    </option>
                  ))
                : [app.me.login, detail.assignee]
                    .filter((x, i, all): x is string => !!x && all.indexOf(x) === i)
                    .map((login) => (
                      <option key={login} value={login}>
                        {personName(app, login)}
                      </option>
                    ))}
            </select>
          </label>
          {detail.state === 'resolved' ? (
            <button type="button" id="conv-reopen" onClick={() => change({ state: 'open' })}>
              {t('reopen')}
            </button>
          ) : (
            <button type="button" id="conv-resolve" onClick={() => change({ state: 'resolved' })}>
              {t('resolve')}
            </button>
          )}
          <label>
            <span>{t('priority')}</span>
            <select id="conv-priority" value={detail.priority} onChange={(e) => change({ priority: (e.target as HTMLSelectElement).value })}>
              {priorities.map((p) => (
                <option key={p} value={p}>
                  {tv('priority_', p)}
                </option>
              ))}
            </select>
          </label>
          <label>
            <span>{t('queue')}</span>
            <select
              id="conv-queue"
              value={detail.queue ?? ''}
              onChange={(e) => {
                const v = (e.target as HTMLSelectElement).value;
                change({ queue: v || null });
              }}
            >
              <option value="">{t('no_queue')}</option>
              {app.queues.map((q) => (
                <option key={q.name} value={q.name}>
                  {q.name}
                </option>
              ))}
              {detail.queue && !app.queues.some((q) => q.name === detail.queue) && <option value={detail.queue}>{detail.queue}</option>}
            </select>
          </label>
          <form
            class="tags-form"
            onSubmit={(e) => {
              e.preventDefault();
              const tags = tagsText
                .split(',')
                .map((x) => x.trim())
                .filter((x) => x);
              change({ tags });
            }}
          >
            <label for="conv-tags">
              {t('tags')} <span class="hint">({t('tags_hint')})</span>
            </label>
            <input id="conv-tags" value={tagsText} onInput={(e) => setTagsText((e.target as HTMLInputElement).value)} />
            <button type="submit">{t('save_tags')}</button>
          </form>
          {actionError ? (
            <p class="error" role="alert" id="action-error">
              {errorText(actionError)}
            </p>
          ) : null}
        </section>
        <section class="timeline" aria-label={t('history')}>
          <ErrorBox error={error} />
          {history.cursor && (
            <button type="button" class="more" onClick={older} disabled={olderBusy}>
              {olderBusy ? t('loading') : t('older_messages')}
            </button>
          )}
          {!items.length && <p class="empty">{t('no_messages')}</p>}
          <ol class="items" id="timeline">
            {items.map((it) =>
              it.kind === 'message' ? (
                <MessageItem key={it.id} m={it.m} />
              ) : it.kind === 'note' ? (
                <li key={it.id} class="item note" data-note-id={it.n.id}>
                  <div class="item-head">
                    <span class="badge note-badge">{t('internal_note')}</span>
                    <span class="who">{personName(app, it.n.author)}</span>
                    <time dateTime={it.n.created_at}>{formatTime(it.n.created_at)}</time>
                  </div>
                  <RichText text={it.n.text} />
                </li>
              ) : (
                <li key={it.id} class="item system">
                  <div class="item-head">
                    <span class="badge system-badge">{t('system_message')}</span>
                    <U text={it.s.kind} />
                    <ChannelBadge channel={it.s.channel} />
                    <U text={it.s.sender} class="who" />
                    <time dateTime={it.s.created_at}>{formatTime(it.s.created_at)}</time>
                  </div>
                  {it.s.subject && <U text={it.s.subject} class="subject" />}
                  {it.s.body && <RichText text={it.s.body} />}
                  {(it.s.status || it.s.error) && (
                    <p class="error-text">
                      <U text={[it.s.status, it.s.error].filter(Boolean).join(': ')} />
                    </p>
                  )}
                </li>
              ),
            )}
          </ol>
          <div ref={timelineEnd} />
        </section>
        <ReplyBox conversation={detail} onDone={reload} />
      </div>
      <CustomerPanel
        key={detail.customer_id + ':' + customerVersion}
        customerId={detail.customer_id}
        currentId={detail.id}
        reachable={detail.reachable}
        onChanged={() => {
          setCustomerVersion((v) => v + 1);
          reload();
        }}
      />
    </div>
  );
}

function MessageItem(props: { m: Message }) {
  const m = props.m;
  const app = useContext(AppContext);
  const out = m.direction === 'out';
  const bad = m.delivery_state === 'failed' || m.delivery_state === 'blocked';
  const author = out ? m.author || m.sender : m.sender;
  return (
    <li class={'item msg ' + (out ? 'out' : 'in')} data-message-id={m.id} data-delivery={m.delivery_state || undefined}>
      <div class="item-head">
        <ChannelBadge channel={m.channel} />
        <span class="sr-only">{out ? t('outbound') : t('inbound')}</span>
        {out ? <span class="who">{author ? personName(app, author) : t('auto_reply')}</span> : <U text={author} class="who" />}
        <time dateTime={m.created_at}>{formatTime(m.created_at)}</time>
        {out && m.delivery_state && (
          <span class={'badge delivery d-' + m.delivery_state} title={t('delivery')}>
            {tv('delivery_', m.delivery_state)}
          </span>
        )}
      </div>
      {m.text && <RichText text={m.text} />}
      {m.attachments.length > 0 && (
        <ul class="attachments" aria-label={t('attachments')}>
          {m.attachments.map((a, i) => (
            <li key={i}>
              <U text={a.name || a.mime_type || '?'} class="file" />
              {a.mime_type && <span class="hint"> ({a.mime_type})</span>}
              {a.download && DOWNLOAD_RE.test(a.download) ? (
                <>
                  {' '}
                  <a href={a.download} download>
                    {t('download')}
                  </a>
                </>
              ) : a.url ? (
                <>
                  {' '}
                  <ExternalLink href={a.url}>{t('download')}</ExternalLink>
                </>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      {out && bad && m.last_error && (
        <p class="error-text">
          <U text={m.last_error} />
        </p>
      )}
      {out && m.attempts !== undefined && m.attempts > 1 && <p class="hint">{t('attempts', { n: m.attempts })}</p>}
    </li>
  );
}
