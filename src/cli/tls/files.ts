/** File checks the tls commands share. */
import type { CliIo, Ui } from "../io.ts";

/** True when the file can be read (Consul refuses to overwrite it then). */
export async function fileExists(io: CliIo, path: string): Promise<boolean> {
  try {
    await io.readFile(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes a certificate and its key, saying so after each as Consul does. */
export async function savePair(ui: Ui, certFile: string, keyFile: string, pair: { readonly certPem: string; readonly keyPem: string }): Promise<void> {
  const enc = new TextEncoder();
  await ui.io.writeFile(certFile, enc.encode(pair.certPem));
  ui.output(`==> Saved ${certFile}`);
  await ui.io.writeFile(keyFile, enc.encode(pair.keyPem));
  ui.output(`==> Saved ${keyFile}`);
}
