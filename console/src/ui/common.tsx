import { ApiError } from '../api';
import { t, tv } from '../i18n';
import type { Channel } from '../types';

export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 0) return t('network_error');
    if (e.code === 'another_active_conversation' || (e.status === 409 && e.code === 'conflict')) return t('another_active');
    if (e.code === 'window_closed' || e.code === 'too_long' || e.code === 'not_reachable' || e.code === 'empty')
      return t('not_allowed', { reason: tv('reason_', e.code) }) + ' — ' + e.message;
    return t('error_generic', { code: e.code, message: e.message });
  }
  return t('error_generic', { code: 'client', message: String(e) });
}

export function ErrorBox(props: { error: unknown }) {
  if (!props.error) return null;
  return (
    <p class="error" role="alert">
      {errorText(props.error)}
    </p>
  );
}

export function ChannelBadge(props: { channel: Channel | null | undefined }) {
  if (!props.channel) return null;
  return <span class={'badge ch ch-' + props.channel}>{tv('channel_', props.channel)}</span>;
}

export function Tags(props: { tags: string[] }) {
  if (!props.tags.length) return null;
  return (
    <ul class="tags" aria-label={t('tags')}>
      {props.tags.map((tag, i) => (
        <li key={i}>
          <bdi dir="auto" class="u tag">
            {tag}
          </bdi>
        </li>
      ))}
    </ul>
  );
}
