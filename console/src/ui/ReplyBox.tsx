import { useEffect, useRef, useState } from 'preact/hooks';
import { enc, get, post } from '../api';
import { formatTime, t, tv } from '../i18n';
import type { ConversationDetail, ListPage, ReplyPreview, Template } from '../types';
import { ErrorBox, errorText as errorTextOf } from './common';
import { RichText, U } from './text';

type Mode = 'reply' | 'note';

/** A template's source text, short enough for a choice in a list. */
function gist(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 48 ? one.slice(0, 47) + '…' : one;
}

export function ReplyBox(props: { conversation: ConversationDetail; onDone(): void }) {
  const c = props.conversation;
  const [mode, setMode] = useState<Mode>('reply');
  const [text, setText] = useState('');
  const [route, setRoute] = useState('');
  const [templates, setTemplates] = useState<Template[]>([]);
  const [template, setTemplate] = useState(''); // '' = the text of the box
  const [waName, setWaName] = useState('');
  const [waLang, setWaLang] = useState('pl');
  const [waParams, setWaParams] = useState('');
  // `of`: the template the preview rendered ('' for text).
  const [preview, setPreview] = useState<(ReplyPreview & { of: string }) | null>(null);
  const [previewError, setPreviewError] = useState<unknown>(null);
  const [error, setError] = useState<unknown>(null);
  const [info, setInfo] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const seq = useRef(0);
  const textRef = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    get<ListPage<Template>>('/templates')
      .then((r) => setTemplates(r.items))
      .catch(() => setTemplates([]));
  }, []);

  const waitingForTemplate = !!preview?.window && !preview.window.open && preview.channel === 'whatsapp';

  function body(forPreview: boolean, value: string = text): Record<string, unknown> {
    const b: Record<string, unknown> = template ? { template } : { text: value };
    if (!forPreview && b.text === '' && waitingForTemplate && waName.trim()) b.text = ' ';
    if (route) {
      const [channel, account] = JSON.parse(route) as [string, string];
      b.channel = channel;
      b.account = account;
    }
    if (waName.trim() && waLang.trim()) {
      b.whatsapp_template = {
        name: waName.trim(),
        language: waLang.trim(),
        parameters: waParams
          .split('\n')
          .map((x) => x.trim())
          .filter((x) => x),
      };
    }
    return b;
  }

  // What the channel says of the reply now, ~200 ms after the last keystroke.
  useEffect(() => {
    if (mode !== 'reply') return undefined;
    const mine = ++seq.current;
    const timer = window.setTimeout(async () => {
      try {
        const p = await post<ReplyPreview>('/conversations/' + enc(c.id) + '/reply-preview', body(true));
        if (mine === seq.current) {
          setPreview({ ...p, of: template });
          setPreviewError(null);
        }
      } catch (e) {
        if (mine === seq.current) setPreviewError(e);
      }
    }, 200);
    return () => window.clearTimeout(timer);
  }, [mode, text, route, template, waName, waLang, waParams, c.id, c.last_message_at]);

  async function send() {
    if (busy) return;
    // The box itself, not the last render's state: Ctrl+Enter may come before a re-render.
    const value = textRef.current?.value ?? text;
    setError(null);
    setInfo(null);
    if (mode === 'note') {
      if (!value.trim()) return;
    } else if (!template && !value.trim() && !(waitingForTemplate && waName.trim())) {
      return;
    }
    setBusy(true);
    try {
      if (mode === 'note') {
        await post('/conversations/' + enc(c.id) + '/notes', { text: value });
        setInfo(t('note_ok'));
      } else {
        await post('/conversations/' + enc(c.id) + '/messages', body(false, value));
        setInfo(t('sent_ok'));
      }
      setText('');
      if (mode === 'reply') setTemplate('');
      props.onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const p = preview;
  const optionLabel = (o: { channel: string; account: string; recipient: string | null; allowed: boolean; reason: string | null }) =>
    tv('channel_', o.channel) +
    ' · ' +
    o.account +
    (o.recipient ? ' · ' + o.recipient : '') +
    ' — ' +
    (o.allowed ? t('allowed') : t('not_allowed', { reason: tv('reason_', o.reason) }));

  return (
    <section class={'reply mode-' + mode} aria-labelledby="reply-title">
      <h3 id="reply-title" class="sr-only">
        {t('compose')}
      </h3>
      <div class="tabs" role="group" aria-label={t('compose')}>
        <button type="button" id="mode-reply" class={mode === 'reply' ? 'tab active' : 'tab'} aria-pressed={mode === 'reply'} onClick={() => setMode('reply')}>
          {t('reply')}
        </button>
        <button type="button" id="mode-note" class={mode === 'note' ? 'tab active' : 'tab'} aria-pressed={mode === 'note'} onClick={() => setMode('note')}>
          {t('note')}
        </button>
      </div>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          send();
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
            e.preventDefault();
            send();
          }
        }}
      >
        {mode === 'reply' && (
          <div class="reply-options">
            <label>
              <span>{t('reply_via')}</span>
              <select id="reply-route" value={route} onChange={(e) => setRoute((e.target as HTMLSelectElement).value)}>
                <option value="">{t('reply_default')}</option>
                {(p?.options ?? []).map((o) => (
                  <option key={o.channel + '/' + o.account} value={JSON.stringify([o.channel, o.account])}>
                    {optionLabel(o)}
                  </option>
                ))}
              </select>
            </label>
            {templates.length > 0 && (
              <label>
                <span>{t('canned_reply')}</span>
                <select id="reply-template" value={template} onChange={(e) => setTemplate((e.target as HTMLSelectElement).value)}>
                  <option value="">{t('canned_none')}</option>
                  {templates.map((x) => (
                    <option key={x.name} value={x.name}>
                      {x.name + ': ' + gist(x.text)}
                    </option>
                  ))}
                </select>
              </label>
            )}
          </div>
        )}
        {mode === 'reply' && template ? (
          <div class="template-preview" id="template-preview" aria-live="polite">
            <span class="hint">{t('canned_preview')}</span>
            {p && p.of === template && p.text !== undefined ? <RichText text={p.text} /> : <p class="hint">{t('loading')}</p>}
          </div>
        ) : (
          <>
            <label for="reply-text" class="sr-only">
              {mode === 'note' ? t('note_text') : t('reply_text')}
            </label>
            <textarea
              id="reply-text"
              ref={textRef}
              rows={4}
              value={text}
              placeholder={mode === 'note' ? t('note_text') : t('reply_text')}
              onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
            />
          </>
        )}
        {mode === 'reply' && waitingForTemplate && (
          <fieldset class="wa-template">
            <legend>{t('wa_template')}</legend>
            <p class="notice">{t('window_closed_templates')}</p>
            <label>
              <span>{t('wa_template_name')}</span>
              <input id="wa-name" value={waName} pattern="[a-z0-9_]+" onInput={(e) => setWaName((e.target as HTMLInputElement).value)} />
            </label>
            <label>
              <span>{t('wa_template_language')}</span>
              <input id="wa-lang" value={waLang} size={6} onInput={(e) => setWaLang((e.target as HTMLInputElement).value)} />
            </label>
            <label>
              <span>{t('wa_template_params')}</span>
              <textarea id="wa-params" rows={2} value={waParams} onInput={(e) => setWaParams((e.target as HTMLTextAreaElement).value)} />
            </label>
          </fieldset>
        )}
        {mode === 'reply' && p && (
          <p class={'verdict ' + (p.allowed ? 'ok' : 'bad')} id="reply-verdict" data-allowed={String(p.allowed)} aria-live="polite">
            {p.reason !== 'empty' && <span class="status">{p.allowed ? t('allowed') : t('not_allowed', { reason: tv('reason_', p.reason) })}</span>}
            {p.message && !p.allowed && p.reason !== 'empty' && (
              <>
                {' '}
                (<U text={p.message} />)
              </>
            )}
            {p.reason !== 'empty' && ' · '}
            <span id="reply-chars">{p.limit !== null ? t('chars_limit', { n: p.characters, limit: p.limit }) : t('chars', { n: p.characters })}</span>
            {p.encoding && (
              <>
                {' · '}
                <span id="reply-sms">
                  {t('sms_info', { encoding: p.encoding === 'gsm7' ? 'GSM-7' : 'UCS-2', segments: p.segments ?? 0 })}
                </span>
              </>
            )}
            {p.window && (
              <>
                {' · '}
                <span id="reply-window" class={p.window.open ? 'ok' : 'bad'}>
                  {p.window.open
                    ? p.window.closes_at
                      ? t('window_open_until', { kind: tv('wkind_', p.window.kind), time: formatTime(p.window.closes_at) })
                      : t('window_open', { kind: tv('wkind_', p.window.kind) })
                    : t('window_closed', { kind: tv('wkind_', p.window.kind) })}
                </span>
              </>
            )}
          </p>
        )}
        <ErrorBox error={previewError} />
        <div class="send-row">
          <button type="submit" class="primary" id="reply-send" disabled={busy}>
            {busy ? t('sending') : mode === 'note' ? t('add_note') : t('send')}
          </button>
          <span class="hint">{t('send_hint')}</span>
          {info && (
            <span class="ok" role="status">
              {info}
            </span>
          )}
        </div>
        {error ? (
          <p class="error" role="alert" id="reply-error">
            {errorTextOf(error)}
          </p>
        ) : null}
      </form>
    </section>
  );
}

