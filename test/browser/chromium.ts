/**
 * Headless Chromium for tests that drive a page as a user would (the API
 * explorer, the console). Debian's `chromium` (scripts/setup.sh installs it)
 * is driven through puppeteer-core, which brings no browser of its own.
 */
import { existsSync } from "node:fs";
import { type Browser, launch } from "puppeteer-core";

/** Where Debian installs Chromium; `CHROMIUM_PATH` overrides it. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Starts headless Chromium; close it with `browser.close()` (in `after`). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: run scripts/setup.sh (Debian package chromium) or set CHROMIUM_PATH`);
  }
  return launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // --no-sandbox: CI machines run tests as root, where Chromium's sandbox refuses to start.
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run", "--no-default-browser-check"],
  });
}
