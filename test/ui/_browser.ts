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
 * Everything that went wrong on `page`, with the URL it happened on: console
 * errors (with the resource they name), uncaught page errors, every answer
 * with an error status (a fetch the page had aborted included: the browser
 * logs its 404 all the same) and every request that failed, except the
 * aborts of the page's own blocking reads when it moves on.
 */
export function recordErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const resource = m.location().url;
    errors.push(`${page.url()}: console: ${m.text()}${resource ? ` (${resource})` : ""}`);
  });
  page.on("pageerror", (e) => errors.push(`${page.url()}: pageerror: ${e.message}`));
  page.on("response", (r) => {
    if (r.status() >= 400) errors.push(`${page.url()}: ${r.request().method()} ${r.url()} answered ${r.status()}`);
  });
  page.on("requestfailed", (r) => {
    const why = r.failure()?.errorText ?? "";
    if (why !== "net::ERR_ABORTED") errors.push(`${page.url()}: ${r.method()} ${r.url()} failed: ${why}`);
  });
  return errors;
}
