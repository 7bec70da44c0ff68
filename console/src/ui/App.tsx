import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, del, forgetSession, get, onSessionLost, restoreSession, whoAmI } from '../api';
import { publish } from '../bus';
import { lang, t } from '../i18n';
import { typing, plain } from '../keys';
import { LiveStream, type StreamStatus } from '../stream';
import type { ListPage, Person, Queue, SessionPerson } from '../types';
import { Admin } from './Admin';
import { AppContext, type AppState } from './context';
import { ConversationView } from './Conversation';
import { CustomerView } from './CustomerPanel';
import { Inbox } from './Inbox';
import { LangSwitch } from './LangSwitch';
import { Login } from './Login';
import { SearchResults, focusFirstResult } from './Search';
import { Shortcuts } from './Shortcuts';

type Route = { view: 'inbox' } | { view: 'conversation'; id: string } | { view: 'customer'; id: string } | { view: 'admin' };

function parseRoute(): Route {
  const h = location.hash.replace(/^#/, '');
  const m = /^\/([cu])\/([0-9]+)$/.exec(h);
  if (m) return { view: m[1] === 'c' ? 'conversation' : 'customer', id: m[2] };
  if (h === '/admin') return { view: 'admin' };
  return { view: 'inbox' };
}

function useRoute(): Route {
  const [route, setRoute] = useState(parseRoute());
  useEffect(() => {
    const on = () => setRoute(parseRoute());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function App() {
  const [me, setMe] = useState<SessionPerson | null | undefined>(undefined);
  const [notice, setNotice] = useState<string | null>(null);
  const [langVersion, setLangVersion] = useState(0);
  const [people, setPeople] = useState<Person[] | null>(null);
  const [queues, setQueues] = useState<Queue[]>([]);
  const [now, setNow] = useState(Date.now());
  const [status, setStatus] = useState<StreamStatus>('connecting');
  const [help, setHelp] = useState(false);
  const [search, setSearch] = useState('');
  const [searchEnter, setSearchEnter] = useState(0);
  const route = useRoute();

  const langChanged = () => setLangVersion((v) => v + 1);

  useEffect(() => {
    document.documentElement.lang = lang();
    onSessionLost(() => {
      setMe((current) => {
        if (current) forgetSession(current.login);
        return null;
      });
      setNotice(t('session_ended'));
    });
    whoAmI()
      .then((r) => {
        if (r && restoreSession(r.person.login, r.csrf_token)) setMe(r.person);
        else setMe(null);
      })
      .catch(() => {
        setMe(null);
        setNotice(t('network_error'));
      });
    const tick = window.setInterval(() => setNow(Date.now()), 60000);
    return () => window.clearInterval(tick);
  }, []);

  useEffect(() => {
    if (!me) return undefined;
    setNow(Date.now());
    get<ListPage<Person>>('/people')
      .then((r) => setPeople(r.items))
      .catch((e) => {
        if (e instanceof ApiError && e.status === 403) setPeople(null);
      });
    get<ListPage<Queue>>('/queues')
      .then((r) => setQueues(r.items))
      .catch(() => setQueues([]));
    const stream = new LiveStream({
      event: (e) => publish(e),
      reload: () => publish('reload'),
      signedOut: () => {
        forgetSession(me.login);
        setMe(null);
        setNotice(t('session_ended'));
      },
      status: setStatus,
    });
    stream.start();
    return () => stream.stop();
  }, [me]);

  useEffect(() => {
    if (!me) return undefined;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        if (help) setHelp(false);
        else if (typing(e)) (e.target as HTMLElement).blur();
        return;
      }
      if (typing(e) || !plain(e)) return;
      if (e.key === '?') {
        e.preventDefault();
        setHelp(true);
      } else if (e.key === '/') {
        const box = document.getElementById('search-box') as HTMLInputElement | null;
        if (box) {
          e.preventDefault();
          box.focus();
          box.select();
        }
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [me, help]);

  const state: AppState | null = useMemo(
    () => (me ? { me, people, queues, now, langVersion } : null),
    [me, people, queues, now, langVersion],
  );

  if (me === undefined) {
    return (
      <main id="main" class="loading-page">
        <p>{t('loading')}</p>
      </main>
    );
  }
  if (!me || !state) {
    return (
      <Login
        notice={notice}
        onLang={langChanged}
        onSignedIn={(p) => {
          setNotice(null);
          setMe(p);
        }}
      />
    );
  }

  async function signOut() {
    try {
      await del('/session');
    } catch {
      // signed out either way
    }
    forgetSession(me!.login);
    setNotice(null);
    setSearch('');
    setMe(null);
  }

  const openId = route.view === 'conversation' ? route.id : null;
  const customerId = route.view === 'customer' ? route.id : null;
  const searching = search.trim() !== '';
  return (
    <AppContext.Provider value={state}>
      <div class="app" data-lang-version={langVersion}>
        <button class="skip" type="button" onClick={() => document.getElementById('main')?.focus()}>
          {t('skip_to_main')}
        </button>
        <header class="top">
          <span class="brand">{t('app_name')}</span>
          <nav aria-label={t('nav_main')} class="nav">
            <a href="#/" aria-current={route.view !== 'admin' ? 'page' : undefined}>
              {t('nav_inbox')}
            </a>
            {me.role === 'admin' && (
              <a href="#/admin" aria-current={route.view === 'admin' ? 'page' : undefined}>
                {t('nav_admin')}
              </a>
            )}
          </nav>
          <span class={'live live-' + status} role="status" id="stream-status" data-status={status}>
            {t(status === 'live' ? 'live' : status === 'connecting' ? 'connecting' : 'offline')}
          </span>
          <span class="spacer" />
          <form
            role="search"
            class="search"
            onSubmit={(e) => {
              e.preventDefault();
              setSearchEnter((n) => n + 1);
            }}
          >
            <label for="search-box" class="sr-only">
              {t('search')}
            </label>
            <input
              id="search-box"
              type="search"
              value={search}
              maxLength={200}
              autoComplete="off"
              spellcheck={false}
              placeholder={t('search_placeholder')}
              aria-describedby="search-hint"
              onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
              onKeyDown={(e) => {
                if (e.key === 'ArrowDown' && focusFirstResult()) e.preventDefault();
                else if (e.key === 'Escape') setSearch(''); // and the global handler leaves the box
              }}
            />
            <span id="search-hint" class="sr-only">
              {t('search_hint')}
            </span>
          </form>
          <button type="button" class="link" onClick={() => setHelp(true)} aria-label={t('shortcuts')} title={t('shortcuts')}>
            ?
          </button>
          <LangSwitch onChange={langChanged} />
          <span class="me">{t('signed_in_as', { name: me.name || me.login })}</span>
          <button type="button" onClick={signOut} id="sign-out">
            {t('sign_out')}
          </button>
        </header>
        {route.view === 'admin' && !searching ? (
          <main id="main" tabIndex={-1} class="main admin-main">
            <Admin />
          </main>
        ) : (
          <div class="panes">
            {searching ? (
              <SearchResults
                q={search}
                openId={openId}
                customerId={customerId}
                enter={searchEnter}
                onClose={() => {
                  setSearch('');
                  document.getElementById('search-box')?.focus();
                }}
              />
            ) : (
              <Inbox openId={openId} />
            )}
            <main id="main" tabIndex={-1} class="main">
              {openId ? (
                <ConversationView key={openId} id={openId} />
              ) : customerId ? (
                <CustomerView key={customerId} id={customerId} />
              ) : (
                <p class="placeholder">{t('select_conversation')}</p>
              )}
            </main>
          </div>
        )}
        {help && <Shortcuts onClose={() => setHelp(false)} />}
      </div>
    </AppContext.Provider>
  );
}
