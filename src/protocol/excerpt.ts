/** Longest excerpt of a peer's text that an error message carries. */
export const EXCERPT_MAX_CHARS = 160;

const REDACTED = '[redacted]';

// A name that announces a credential, then its value: `token=…`, `"api_key": "…"`, `Bearer …`.
const NAMED_SECRET =
  /\b((?:access|refresh|id|auth|api|session|client|csrf|xsrf)?[-_]?(?:token|secret|password|passwd|pwd|key|apikey|auth|authorization|cookie|signature|credential)s?)(["']?\s*[:=]\s*["']?)[^\s"'&;,<>]+/gi;
const BEARER = /\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}/gi;
// Long runs of token characters that mix letters and digits: JWTs, API keys, hex digests, ids.
const TOKEN_LIKE = /[A-Za-z0-9._~+/=-]{20,}/g;

/**
 * A short, printable excerpt of text a peer sent (an error page, a header value), fit to be
 * shown to an admin caller or logged: markup, scripts and comments are dropped, whitespace is
 * collapsed, anything that looks like a credential is replaced by `[redacted]`, and the result
 * is cut to `max` characters. A peer's error page can carry session tokens and internal
 * details; the operator needs the gist, never the page.
 */
export function safeExcerpt(text: string, max = EXCERPT_MAX_CHARS): string {
  // Only the head matters, and bounding the input bounds the work of the replacements below.
  let s = text.slice(0, 16 * 1024);
  s = s
    .replace(/<!--[\s\S]*?(?:-->|$)/g, ' ')
    .replace(/<(script|style)\b[\s\S]*?(?:<\/\1\s*>|$)/gi, ' ')
    .replace(/<[^>]*>?/g, ' ')
    .replace(/&(?:nbsp|amp|lt|gt|quot|#\d+);/g, ' ');
  s = s.replace(/[^\x20-\x7e]+/g, ' ').replace(/\s+/g, ' ').trim();
  s = s
    .replace(BEARER, (_m, scheme: string) => `${scheme} ${REDACTED}`)
    .replace(NAMED_SECRET, (_m, name: string, sep: string) => `${name}${sep}${REDACTED}`)
    .replace(TOKEN_LIKE, (run) => (/[0-9]/.test(run) && /[A-Za-z]/.test(run) ? REDACTED : run));
  if (s.length <= max) return s;
  return `${s.slice(0, max - 1).trimEnd()}…`;
}
