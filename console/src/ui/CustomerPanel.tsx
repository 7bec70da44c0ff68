import { useContext, useEffect, useState } from 'preact/hooks';
import { enc, get, post } from '../api';
import { formatTime, t, tv } from '../i18n';
import type { Customer, Reachable } from '../types';
import { ChannelBadge, ErrorBox, Tags } from './common';
import { AppContext } from './context';
import { U } from './text';

/** A customer on its own (#/u/ID), as a search result opens it. */
export function CustomerView(props: { id: string }) {
  const [version, setVersion] = useState(0);
  return (
    <div class="customer-page">
      <CustomerPanel key={version} customerId={props.id} currentId={null} standalone onChanged={() => setVersion((v) => v + 1)} />
    </div>
  );
}

export function CustomerPanel(props: {
  customerId: string;
  /** The conversation shown beside it, if any. */
  currentId: string | null;
  /** Where the open conversation's customer can be reached (not shown on its own). */
  reachable?: Reachable[];
  standalone?: boolean;
  onChanged(): void;
}) {
  useContext(AppContext); // re-render on language changes
  const [customer, setCustomer] = useState<Customer | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [info, setInfo] = useState<string | null>(null);
  const [other, setOther] = useState('');

  useEffect(() => {
    get<Customer>('/customers/' + enc(props.customerId))
      .then((c) => setCustomer(c))
      .catch((e) => setError(e));
  }, [props.customerId]);

  async function merge(e: Event) {
    e.preventDefault();
    const id = other.trim();
    if (!/^[0-9]+$/.test(id) || !window.confirm(t('merge_confirm', { other: id, id: props.customerId }))) return;
    setError(null);
    try {
      await post('/customers/' + enc(props.customerId) + '/merge', { customer_id: id });
      setOther('');
      setInfo(t('done'));
      props.onChanged();
    } catch (err) {
      setError(err);
    }
  }

  async function split(kind: string, value: string) {
    if (!window.confirm(t('split_confirm', { value }))) return;
    setError(null);
    try {
      await post('/customers/' + enc(props.customerId) + '/split', { kind, value });
      setInfo(t('done'));
      props.onChanged();
    } catch (err) {
      setError(err);
    }
  }

  const content = (
    <>
      <h2 id="customer-title">{t('customer_panel')}</h2>
      <ErrorBox error={error} />
      {info && (
        <p class="ok" role="status">
          {info}
        </p>
      )}
      {customer && (
        <>
          <p class="cust-name">
            <U text={customer.display_name} class="name" /> <span class="hint">#{customer.id}</span>
          </p>
          {customer.language && (
            <p>
              {t('language_of_customer')}: <U text={customer.language} />
            </p>
          )}
          {customer.merged_into && <p class="notice">{t('merged_into', { id: customer.merged_into })}</p>}
          <Tags tags={customer.tags} />
          {(customer.opt_outs ?? []).map((o) => (
            <p class="notice" key={o.channel + ':' + o.address}>
              {t('opted_out', { channel: o.channel.toUpperCase(), since: new Date(o.since).toLocaleDateString() })}{' '}
              <U text={o.address} />
            </p>
          ))}
          <h3>{t('identities')}</h3>
          <ul class="identities">
            {customer.identities.map((i) => (
              <li key={i.kind + ':' + i.value}>
                <span class="badge">{i.kind}</span> <U text={i.value} />
                {i.verified && <span class="hint"> ({t('verified')})</span>}
                {customer.identities.length > 1 && (
                  <button type="button" class="small" onClick={() => split(i.kind, i.value)} aria-label={t('split') + ': ' + i.kind + ' ' + i.value}>
                    {t('split')}
                  </button>
                )}
              </li>
            ))}
          </ul>
          {props.reachable && (
            <>
              <h3>{t('reachable')}</h3>
              <ul class="reachable">
                {props.reachable.map((r, i) => (
                  <li key={i}>
                    <ChannelBadge channel={r.channel} /> <span class="hint">{r.account}</span> <U text={r.address} />
                  </li>
                ))}
              </ul>
            </>
          )}
          <h3>{t('other_conversations')}</h3>
          <ul class="cust-convs">
            {customer.conversations.map((c) => (
              <li key={c.id}>
                {c.id === props.currentId ? (
                  <span aria-current="true">#{c.id}</span>
                ) : (
                  <a href={'#/c/' + c.id}>#{c.id}</a>
                )}{' '}
                <span class={'badge state-' + c.state}>{tv('state_', c.state)}</span> {c.queue && <span class="badge queue">{c.queue}</span>}{' '}
                <span class="hint">{formatTime(c.last_message_at || c.opened_at)}</span>
              </li>
            ))}
          </ul>
          <form class="merge" onSubmit={merge}>
            <label for="merge-id">{t('merge_label')}</label>
            <div class="inline">
              <input id="merge-id" inputMode="numeric" pattern="[0-9]+" value={other} onInput={(e) => setOther((e.target as HTMLInputElement).value)} />
              <button type="submit">{t('merge')}</button>
            </div>
          </form>
        </>
      )}
    </>
  );
  return props.standalone ? (
    <section class="customer standalone" aria-labelledby="customer-title" id="customer-page" data-id={props.customerId}>
      {content}
    </section>
  ) : (
    <aside class="customer" aria-labelledby="customer-title">
      {content}
    </aside>
  );
}
