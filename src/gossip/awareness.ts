/**
 * Lifeguard's local health (memberlist awareness.go): a score that rises when
 * our own probes go unanswered without nacks to explain it, or when others
 * suspect us, and falls with each successful probe. Timeouts stretch by
 * (score + 1), so a slow or starved member probes and suspects less.
 */
export class Awareness {
  private score = 0;
  private readonly max: number;

  constructor(maxMultiplier: number) {
    this.max = maxMultiplier;
  }

  applyDelta(delta: number): void {
    this.score = Math.min(Math.max(this.score + delta, 0), this.max - 1);
  }

  get health(): number {
    return this.score;
  }

  scale(ms: number): number {
    return ms * (this.score + 1);
  }
}
