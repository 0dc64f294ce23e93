/** Consulate's version, reported by `version`, /v1/agent/self and member tags. */
export const VERSION = "0.1.0";
