/** Consulate's own version, printed by `consulate version` and carried as the build's revision. */
export const VERSION = "0.1.0";

/**
 * The Consul release whose API Consulate answers as. Tools read
 * `Config.Version` of /v1/agent/self, the `build` member tag and
 * /v1/agent/version to decide which features they may use (Nomad refuses a
 * Consul older than it needs), so these carry Consul's version number.
 */
export const CONSUL_VERSION = "1.22.0";

/** Where Consul puts its git commit: here, which Consulate answers. */
export const REVISION = `consulate-${VERSION}`;
