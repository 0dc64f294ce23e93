/** The logging a data-plane component needs; the agent's leveled logger fits it. */
export interface MeshLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export const silentLogger: MeshLogger = { debug() {}, info() {}, warn() {}, error() {} };

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
