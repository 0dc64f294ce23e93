/**
 * Circuit breakers of one upstream cluster (UpstreamConfig.Limits): at most
 * MaxConcurrentRequests requests in flight and MaxPendingRequests waiting for
 * one of MaxConnections connections; anything over is shed at once with a
 * 503 rather than queued (Envoy's overflow). Unset limits are Envoy's 1024.
 */

export interface LimitsConfig {
  readonly maxConnections?: number;
  readonly maxPendingRequests?: number;
  readonly maxConcurrentRequests?: number;
}

export const DEFAULT_LIMIT = 1024;

export class CircuitBreaker {
  readonly maxConnections: number;
  readonly maxPending: number;
  readonly maxRequests: number;
  active = 0;
  pending = 0;
  overflows = 0;

  constructor(c: LimitsConfig) {
    this.maxConnections = c.maxConnections ?? DEFAULT_LIMIT;
    this.maxPending = c.maxPendingRequests ?? DEFAULT_LIMIT;
    this.maxRequests = c.maxConcurrentRequests ?? DEFAULT_LIMIT;
  }

  /** Takes a request slot, or false (overflow) when the cluster is at MaxConcurrentRequests. */
  tryRequest(): boolean {
    if (this.active >= this.maxRequests) {
      this.overflows++;
      return false;
    }
    this.active++;
    return true;
  }

  releaseRequest(): void {
    this.active--;
  }

  /** Takes a pending slot (waiting for a connection), or false when the queue is full. */
  tryPending(): boolean {
    if (this.pending >= this.maxPending) {
      this.overflows++;
      return false;
    }
    this.pending++;
    return true;
  }

  releasePending(): void {
    this.pending--;
  }
}
