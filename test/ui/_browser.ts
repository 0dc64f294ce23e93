/**
 * Debian's chromium driven by playwright-core (never a downloaded browser),
 * headless with the flags that keep it off the network, and a recorder of
 * every console error and uncaught page error.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/** Whether the browser is installed (`apt-get install -y chromium`, as .ci/install does). */
export const haveChromium = existsSync(CHROMIUM);

// Without the background-networking flags Chromium keeps trying to reach Google's services.
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions"];

/** Playwright gives every launch a fresh temporary profile (its own --user-data-dir). */
export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/**
 * Console errors and page errors seen on `page`, with the URL they happened on
 * (and, for a failed load, the resource's URL). A 404 for a KV read is Consul's
 * answer for a missing key, which the browser logs like any 4xx: those go to
 * `kvMisses` instead (printed by the test), since a key deleted while a page
 * reads it is a race with the user, not a page error.
 */
export function recordErrors(page: Page, kvMisses: string[] = []): string[] {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const resource = m.location().url;
    const line = `${page.url()}: console: ${m.text()}${resource ? ` (${resource})` : ""}`;
    if (/status of 404/.test(m.text()) && /\/v1\/kv\//.test(resource)) kvMisses.push(line);
    else errors.push(line);
  });
  page.on("pageerror", (e) => errors.push(`${page.url()}: pageerror: ${e.message}`));
  return errors;
}
