/**
 * Responses whose body streams for as long as the client listens
 * (`/v1/agent/monitor`): the listener keeps no idle deadline on their
 * connection once they are handed over.
 */
const longLived = new WeakSet<Response>();

export function keepOpen(res: Response): Response {
  longLived.add(res);
  return res;
}

export function isLongLived(res: Response): boolean {
  return longLived.has(res);
}
