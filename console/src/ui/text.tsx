// Rendering of text that comes from customers, platforms or the rules file.
//
// Everything is a text node (Preact escapes it); nothing is ever parsed as HTML. Each string is
// isolated for bidi (dir="auto" + unicode-bidi: isolate) so an RTL override inside it cannot
// reorder the interface around it. Only http and https URLs become links, opened in a new tab
// without a referrer or an opener.

import type { ComponentChildren } from 'preact';

export function U(props: { text: string | null | undefined; class?: string; title?: string }) {
  return (
    <bdi dir="auto" class={props.class ? 'u ' + props.class : 'u'} title={props.title}>
      {props.text ?? ''}
    </bdi>
  );
}

const URL_RE = /\bhttps?:\/\/[^\s<>"'`\u200e\u200f\u202a-\u202e\u2066-\u2069]+/gi;

/** A URL we are willing to link to, or null. */
export function safeUrl(raw: string): string | null {
  try {
    const u = new URL(raw);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

export function ExternalLink(props: { href: string; children: ComponentChildren }) {
  const href = safeUrl(props.href);
  if (!href) return <>{props.children}</>;
  return (
    <a href={href} target="_blank" rel="noopener noreferrer">
      {props.children}
    </a>
  );
}

/** A message's text with its web links made clickable. */
export function RichText(props: { text: string; class?: string }) {
  const parts: ComponentChildren[] = [];
  let last = 0;
  const text = props.text;
  for (const m of text.matchAll(URL_RE)) {
    let url = m[0];
    // Sentence punctuation right after a link is not part of it.
    const trail = /[.,;:!?)\]}]+$/.exec(url);
    if (trail) url = url.slice(0, url.length - trail[0].length);
    const start = m.index ?? 0;
    if (start > last) parts.push(text.slice(last, start));
    const href = safeUrl(url);
    parts.push(
      href ? (
        <a href={href} target="_blank" rel="noopener noreferrer">
          {url}
        </a>
      ) : (
        url
      ),
    );
    last = start + url.length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return (
    <div dir="auto" class={props.class ? 'u text ' + props.class : 'u text'}>
      {parts}
    </div>
  );
}

// Search results: the words of the query marked in a message's text, still as text nodes only.

const WORD_RE = /[\p{L}\p{N}]+/gu;

/** A word as search compares it: lower case, without diacritics ("Zamówień" -> "zamowien"). */
export function fold(word: string): string {
  return word.normalize('NFD').replace(/\p{M}+/gu, '').toLowerCase().replace(/ł/g, 'l');
}

/** The folded words of a query. */
export function queryWords(q: string): string[] {
  return Array.from(q.matchAll(WORD_RE), (m) => fold(m[0]));
}

/**
 * Whether a folded word of the text is what a folded query word found: its beginning, or
 * another form of it (the daemon stems Polish; this only guesses: a long enough common start).
 */
function found(word: string, q: string): boolean {
  if (word.startsWith(q)) return true;
  if (!/\D/.test(q)) return false;
  let n = 0;
  while (n < word.length && n < q.length && word[n] === q[n]) n++;
  return n >= 4 && n >= q.length - 3;
}

/** A text with the words a query found in <mark> elements. */
export function Highlight(props: { text: string; words: string[]; class?: string }) {
  const parts: ComponentChildren[] = [];
  const text = props.text;
  let last = 0;
  if (props.words.length) {
    for (const m of text.matchAll(WORD_RE)) {
      const w = fold(m[0]);
      if (!props.words.some((q) => found(w, q))) continue;
      const start = m.index ?? 0;
      if (start > last) parts.push(text.slice(last, start));
      parts.push(<mark>{m[0]}</mark>);
      last = start + m[0].length;
    }
  }
  if (last < text.length) parts.push(text.slice(last));
  return (
    <span dir="auto" class={props.class ? 'u text ' + props.class : 'u text'}>
      {parts}
    </span>
  );
}
