// Following the KV store without a read that answers an error status.
//
// Consul answers 404 for a key, or a folder other than the root, that holds
// nothing, and the browser logs every 404 as a console error, even for a fetch
// the page has already aborted: the abort settles in the page at once, but the
// request can still be answered first (a blocking read of a key answered 404
// two milliseconds after the page's own DELETE went out, and was only then
// cancelled). So:
// - the one blocking read is the root listing (`/v1/kv/?keys&separator=/`),
//   which Consul answers 200 even when the store is empty and whose index
//   moves with every KV write;
// - after each move the page reads what it shows, with reads that are never
//   aborted: a key through a read-only transaction (`get-tree`, answered 200
//   with no result once the key is gone), a folder level by level from the
//   root, each level listed only once its parent named it;
// - stop() resolves once no such read is in flight, so a page that stops
//   following before it writes or deletes never races its own write.
import { api, watch } from "./api.js";

/** The API path of a key or folder. @param {string} path */
export const kvPath = (path) => `/v1/kv/${path.split("/").map(encodeURIComponent).join("/")}`;

/**
 * The key's entry, or null when it does not exist.
 * @param {string} key
 * @returns {Promise<{ Key: string, Value: string | null, Flags: number, ModifyIndex: number } | null>}
 */
export async function readKey(key) {
  const res = await api("/v1/txn", { method: "PUT", body: [{ KV: { Verb: "get-tree", Key: key } }] });
  const hit = (res.data?.Results ?? []).find((r) => r.KV?.Key === key);
  return hit ? hit.KV : null;
}

/**
 * A folder's keys and sub-folders one level down, or null when nothing is under it.
 * @param {string} prefix "" or "a/b/"
 * @param {string[]} rootKeys the root listing
 * @returns {Promise<string[] | null>}
 */
export async function listFolder(prefix, rootKeys) {
  let keys = rootKeys;
  let at = "";
  for (const part of prefix.split("/").filter(Boolean)) {
    const next = `${at}${part}/`;
    if (!(keys ?? []).includes(next)) return null;
    keys = (await api(kvPath(next), { params: { keys: true, separator: "/" } })).data;
    at = next;
  }
  return keys;
}

/**
 * Calls onData(await read(rootKeys)) once the root listing is read and again
 * after every KV write, until stop(). Reads never overlap: writes during one
 * make a single read after it.
 * @template T
 * @param {(rootKeys: string[]) => Promise<T>} read
 * @param {(data: T) => void} onData
 * @param {(err: Error) => void} onError
 * @returns {() => Promise<void>} stop: resolves once no read of it is in flight
 */
export function followKv(read, onData, onError) {
  let stopped = false;
  /** @type {string[]} */
  let rootKeys = [];
  let due = false;
  let reading = Promise.resolve();
  const run = async () => {
    while (due && !stopped) {
      due = false;
      try {
        const data = await read(rootKeys);
        if (!stopped) onData(data);
      } catch (err) {
        if (!stopped) onError(/** @type {Error} */ (err));
      }
    }
  };
  const stopWatch = watch("/v1/kv/", { keys: true, separator: "/" }, (keys) => {
    rootKeys = keys ?? [];
    if (due) return;
    due = true;
    reading = reading.then(run);
  }, onError);
  return async () => {
    stopped = true;
    await stopWatch();
    await reading;
  };
}
