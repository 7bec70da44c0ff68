import { useRef, useState } from 'preact/hooks';
import { ApiError, lastLogin, signIn } from '../api';
import { t } from '../i18n';
import type { SessionPerson } from '../types';
import { LangSwitch } from './LangSwitch';

export function Login(props: { onSignedIn(p: SessionPerson): void; notice: string | null; onLang(): void }) {
  const [login, setLogin] = useState(lastLogin());
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const passwordRef = useRef<HTMLInputElement>(null);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const person = await signIn(login.trim(), password);
      setPassword('');
      props.onSignedIn(person);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setError(t('wrong_credentials'));
      else if (err instanceof ApiError && err.status === 429 && err.code === 'busy') setError(t('busy'));
      else if (err instanceof ApiError && err.status === 429)
        setError(err.retryAfter !== null ? t('too_many_attempts', { s: err.retryAfter }) : t('too_many_attempts_later'));
      else if (err instanceof ApiError && err.status === 0) setError(t('network_error'));
      else if (err instanceof ApiError) setError(t('error_generic', { code: err.code, message: err.message }));
      else setError(String(err));
      passwordRef.current?.focus();
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="login-page">
      <header class="login-top">
        <span class="brand">{t('app_name')}</span>
        <LangSwitch onChange={props.onLang} />
      </header>
      <main id="main" class="login-main">
        <form class="login-form" onSubmit={submit} aria-labelledby="login-title">
          <h1 id="login-title">{t('sign_in_title')}</h1>
          {props.notice && (
            <p class="notice" role="status">
              {props.notice}
            </p>
          )}
          <label for="login-login">{t('login')}</label>
          <input
            id="login-login"
            name="username"
            autocomplete="username"
            required
            value={login}
            onInput={(e) => setLogin((e.target as HTMLInputElement).value)}
          />
          <label for="login-password">{t('password')}</label>
          <input
            id="login-password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
            ref={passwordRef}
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
          {error && (
            <p class="error" role="alert" id="login-error">
              {error}
            </p>
          )}
          <button type="submit" class="primary" disabled={busy}>
            {busy ? t('signing_in') : t('sign_in')}
          </button>
        </form>
      </main>
    </div>
  );
}
