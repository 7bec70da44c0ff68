import { useEffect, useRef } from 'preact/hooks';
import { t, type Key } from '../i18n';

const KEYS: [string, Key][] = [
  ['j / ↓', 'sc_next'],
  ['k / ↑', 'sc_prev'],
  ['Enter', 'sc_open'],
  ['r', 'sc_reply'],
  ['Ctrl+Enter', 'sc_send'],
  ['a', 'sc_assign'],
  ['/', 'sc_search'],
  ['?', 'sc_help'],
  ['Esc', 'sc_escape'],
];

export function Shortcuts(props: { onClose(): void }) {
  const closeRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    closeRef.current?.focus();
    return () => before?.focus?.();
  }, []);
  return (
    <div class="overlay" onClick={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="shortcuts-title" id="shortcuts">
        <h2 id="shortcuts-title">{t('shortcuts')}</h2>
        <dl class="keys">
          {KEYS.map(([k, d]) => (
            <div key={k}>
              <dt>
                <kbd>{k}</kbd>
              </dt>
              <dd>{t(d)}</dd>
            </div>
          ))}
        </dl>
        <button type="button" ref={closeRef} onClick={props.onClose}>
          {t('close')}
        </button>
      </div>
    </div>
  );
}
