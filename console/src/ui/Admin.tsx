import { useContext, useEffect, useState } from 'preact/hooks';
import { ApiError, del, enc, get, post, put } from '../api';
import { formatTime, t, tv } from '../i18n';
import type { ApiToken, ListPage, Person } from '../types';
import { ErrorBox } from './common';
import { AppContext } from './context';

export function Admin() {
  const app = useContext(AppContext);
  const [people, setPeople] = useState<Person[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  const allowed = app.me.role === 'admin';
  useEffect(() => {
    if (!allowed) return;
    get<ListPage<Person>>('/people')
      .then((r) => setPeople(r.items))
      .catch((e) => setError(e));
  }, [allowed]);

  if (!allowed) {
    return (
      <section class="forbidden" aria-labelledby="forbidden-title">
        <h1 id="forbidden-title">{t('admin_title')}</h1>
        <p class="error" role="alert" id="forbidden">
          {t('forbidden')}
        </p>
      </section>
    );
  }
  return (
    <section class="admin" aria-labelledby="admin-title">
      <h1 id="admin-title">{t('admin_title')}</h1>
      <ErrorBox error={error} />
      <h2>{t('people')}</h2>
      {people === null && !error && <p role="status">{t('loading')}</p>}
      <ul class="people">
        {people?.map((p) => (
          <PersonCard key={p.login} person={p} />
        ))}
      </ul>
    </section>
  );
}

function PersonCard(props: { person: Person }) {
  const p = props.person;
  const [password, setPassword] = useState('');
  const [tokens, setTokens] = useState<ApiToken[] | null>(null);
  const [tokenName, setTokenName] = useState('');
  const [created, setCreated] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const base = 'person-' + p.login.replace(/[^A-Za-z0-9_-]/g, '_');

  async function loadTokens() {
    try {
      const r = await get<ListPage<ApiToken>>('/people/' + enc(p.login) + '/tokens');
      setTokens(r.items);
    } catch (e) {
      setError(e);
    }
  }

  async function setPw(e: Event) {
    e.preventDefault();
    setError(null);
    setInfo(null);
    try {
      await put('/people/' + enc(p.login) + '/password', { password });
      setPassword('');
      setInfo(t('password_set'));
    } catch (err) {
      setError(err);
    }
  }

  async function createToken(e: Event) {
    e.preventDefault();
    setError(null);
    try {
      const r = await post<ApiToken>('/people/' + enc(p.login) + '/tokens', { name: tokenName.trim() });
      setCreated(r.token ?? null);
      setTokenName('');
      await loadTokens();
    } catch (err) {
      setError(err);
    }
  }

  async function revoke(tok: ApiToken) {
    if (!window.confirm(t('revoke_confirm', { name: tok.name }))) return;
    setError(null);
    try {
      await del('/tokens/' + enc(tok.id));
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) setError(err);
    }
    await loadTokens();
  }

  return (
    <li class="person card" id={base}>
      <h3>
        {p.name} <span class="hint">({p.login})</span>
      </h3>
      <p>
        {t('role')}: {tv('role_', p.role)}
        {p.queues.length > 0 && (
          <>
            {' · '}
            {t('queues')}: {p.queues.join(', ')}
          </>
        )}
      </p>
      <form class="inline" onSubmit={setPw}>
        <label for={base + '-pw'}>{t('new_password')}</label>
        <input
          id={base + '-pw'}
          type="password"
          autocomplete="new-password"
          minLength={10}
          required
          value={password}
          onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
        />
        <button type="submit">{t('set_password')}</button>
      </form>
      <h4>{t('tokens')}</h4>
      {tokens === null ? (
        <button type="button" onClick={loadTokens} aria-label={t('show_tokens') + ': ' + p.login}>
          {t('show_tokens')}
        </button>
      ) : (
        <>
          {!tokens.length && <p class="hint">{t('no_tokens')}</p>}
          <ul class="tokens">
            {tokens.map((tok) => (
              <li key={tok.id}>
                <bdi dir="auto" class="u">
                  {tok.name}
                </bdi>{' '}
                <span class="hint">
                  {t('created', { t: formatTime(tok.created_at) })} ·{' '}
                  {tok.last_used_at ? t('last_used', { t: formatTime(tok.last_used_at) }) : t('never_used')}
                </span>{' '}
                <button type="button" class="small" onClick={() => revoke(tok)} aria-label={t('revoke') + ': ' + tok.name}>
                  {t('revoke')}
                </button>
              </li>
            ))}
          </ul>
          <form class="inline" onSubmit={createToken}>
            <label for={base + '-token'}>{t('token_name')}</label>
            <input id={base + '-token'} required maxLength={200} value={tokenName} onInput={(e) => setTokenName((e.target as HTMLInputElement).value)} />
            <button type="submit">{t('create_token')}</button>
          </form>
          {created && (
            <p class="notice" role="status">
              {t('token_created')} <code class="token">{created}</code>
            </p>
          )}
        </>
      )}
      {info && (
        <p class="ok" role="status">
          {info}
        </p>
      )}
      <ErrorBox error={error} />
    </li>
  );
}
