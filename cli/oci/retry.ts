// Retries with exponential backoff for transient registry failures, with istio-agent's
// rule for status codes: 5xx except 501, 505 and 511; never 4xx (PACKAGING.md §1.4).

export interface RetryPolicy {
  /** Total attempts, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 500, maxDelayMs: 8000 };

export const isRetryableStatus = (status: number): boolean => status >= 500 && status !== 501 && status !== 505 && status !== 511;

/** Network error codes (from undici/Node) that mean "try again", not "wrong address". */
const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ECONNABORTED",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
]);

/** The innermost `code` of a fetch failure (fetch wraps the socket error in `cause`). */
export function networkErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  let code: string | undefined;
  for (let depth = 0; current && typeof current === "object" && depth < 5; depth++) {
    const c = (current as { code?: unknown }).code;
    if (typeof c === "string") code = c;
    // Happy-eyeballs connects fail with an AggregateError of per-address errors.
    const inner = (current as { errors?: unknown[] }).errors;
    current = (current as { cause?: unknown }).cause ?? (Array.isArray(inner) ? inner[0] : undefined);
  }
  return code;
}

/** The innermost message of a fetch failure ("fetch failed" says nothing). */
export function networkErrorMessage(error: unknown): string {
  let current: unknown = error;
  let message = String(error);
  for (let depth = 0; current && typeof current === "object" && depth < 5; depth++) {
    const m = (current as { message?: unknown }).message;
    if (typeof m === "string" && m !== "") message = m;
    const inner = (current as { errors?: unknown[] }).errors;
    current = (current as { cause?: unknown }).cause ?? (Array.isArray(inner) ? inner[0] : undefined);
  }
  return message;
}

export const isTransientNetworkError = (error: unknown): boolean => {
  const code = networkErrorCode(error);
  return code !== undefined && TRANSIENT_CODES.has(code);
};

export function backoffDelay(attempt: number, policy: RetryPolicy): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
}

/**
 * Runs `operation` until it succeeds, `shouldRetry` says no, or the attempts run out; the
 * last error is rethrown. `onRetry` hears about each wait (for a "retrying…" line).
 */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  shouldRetry: (error: unknown) => boolean,
  policy: RetryPolicy = DEFAULT_RETRY,
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= policy.attempts || !shouldRetry(error)) throw error;
      const delay = backoffDelay(attempt, policy);
      onRetry?.(error, attempt, delay);
      await sleep(delay);
    }
  }
}
