// The shapes of the agent API (daemon/api/openapi.yaml) that the console reads.
// Ids are decimal strings and stay strings: an event id may exceed 2^53.

export type Channel = 'api' | 'webchat' | 'email' | 'messenger' | 'whatsapp' | 'sms';
export type ConversationState = 'open' | 'pending' | 'resolved';
export type Priority = 'low' | 'normal' | 'high' | 'urgent';
export type Role = 'admin' | 'agent';
export type DeliveryState = 'queued' | 'sending' | 'sent' | 'delivered' | 'read' | 'failed' | 'blocked';
export type RefusalReason = 'window_closed' | 'too_long' | 'not_reachable' | 'empty';

export interface SessionPerson { login: string; name?: string; role: Role }

export interface ListPage<T> { items: T[]; next_cursor: string | null }

export interface Conversation {
  id: string;
  customer_id: string;
  customer: { id: string; display_name: string };
  state: ConversationState;
  queue: string | null;
  assignee: string | null;
  priority: Priority;
  tags: string[];
  opened_at: string;
  last_message_at: string | null;
  waiting_since: string | null;
  first_response_at: string | null;
  resolved_at: string | null;
  last_channel: Channel | null;
  unread: number;
}

export interface Why { rule: string | null; rules_hash: string; at: string; decision: Record<string, unknown> }
export interface Reachable { channel: Channel; account: string; address: string }
export interface ConversationDetail extends Conversation { why: Why | null; reachable: Reachable[] }

export interface Attachment { url: string; mime_type: string; name: string; size?: number; download: string | null }

export interface Message {
  id: string;
  conversation_id: string;
  direction: 'in' | 'out';
  channel: Channel;
  account: string;
  external_id: string | null;
  sender: string;
  author?: string | null;
  text: string;
  attachments: Attachment[];
  created_at: string;
  delivery_state?: DeliveryState;
  attempts?: number;
  last_error?: string | null;
}

export interface Note { id: string; conversation_id: string; author: string; text: string; created_at: string }

export interface SystemMessage {
  id: string; kind: string; channel: Channel; account: string; sender: string; subject: string; body: string;
  created_at: string; concerns_message_id: string | null; status: string | null; error: string | null;
}

export interface ConversationMessages {
  conversation: Conversation;
  messages: Message[];
  notes: Note[];
  system_messages: SystemMessage[];
  next_cursor: string | null;
}

export interface PreviewOption {
  channel: Channel; account: string; recipient: string | null; allowed: boolean; reason: RefusalReason | null;
}
export interface ReplyPreview extends PreviewOption {
  /** Why it cannot be sent, in the channel's words (null when allowed). */
  message?: string | null;
  /** The rendered text, for a reply from a template. */
  text?: string;
  characters: number;
  limit: number | null;
  encoding: 'gsm7' | 'ucs2' | null;
  segments: number | null;
  window: { kind: string; open: boolean; closes_at: string | null } | null;
  options: PreviewOption[];
}

export interface Identity { kind: string; value: string; verified: boolean; created_at: string }
export interface Customer {
  id: string; display_name: string; language: string | null; tags: string[]; created_at: string;
  merged_into: string | null; identities: Identity[];
  opt_outs?: { channel: string; address: string; since: string; source: string }[];
  conversations: { id: string; state: ConversationState; queue: string | null; opened_at: string; last_message_at: string | null }[];
}

export interface Template { name: string; text: string }

export interface SearchHit {
  message: {
    id: string; conversation_id: string; direction: 'in' | 'out'; channel: Channel; sender: string;
    subject: string | null; text: string; truncated: boolean; created_at: string;
  };
  conversation: Conversation;
}
export interface SearchCustomer { id: string; display_name: string; language: string | null; identities: { kind: string; value: string }[] }
export interface SearchResult extends ListPage<SearchHit> { customers: SearchCustomer[] }

export interface Queue { name: string; people: string[] }
export interface Person { login: string; name: string; role: Role; queues: string[] }
export interface ApiToken { id: string; login: string; name: string; created_at: string; last_used_at: string | null; token?: string }

// Frames of GET /api/v1/stream.
export interface StreamEvent {
  id?: string;
  type: string;
  at?: string;
  conversation_id?: string;
  [key: string]: unknown;
}
