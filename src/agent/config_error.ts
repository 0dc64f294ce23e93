/** A config file or flag value that cannot be used; the message names it. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/**
 * Runs a block's own parser and turns its error class into a ConfigError,
 * `prefix` (e.g. the file name) before the message.
 */
export function asConfigError<T>(step: () => T, own: abstract new (...args: never[]) => Error, prefix = ""): T {
  try {
    return step();
  } catch (err) {
    if (err instanceof own) throw new ConfigError(`${prefix}${err.message}`);
    throw err;
  }
}
