import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import type { LogEntry } from "../../src/log/mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

export function bytes(text: string): Uint8Array {
  return enc.encode(text);
}

export function text(data: Uint8Array): string {
  return dec.decode(data);
}

/** A fresh directory under the OS temp dir; remove it with `removeDir`. */
export function makeTempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), "consulate-log-test-"));
}

export function removeDir(dir: string): Promise<void> {
  return fs.rm(dir, { recursive: true, force: true });
}

export async function listDir(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).sort();
}

export async function segmentFiles(dir: string): Promise<string[]> {
  return (await listDir(dir)).filter((n) => n.startsWith("wal-"));
}

export async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await fs.readdir(dir)) total += (await fs.stat(path.join(dir, name))).size;
  return total;
}

export function indexes(entries: Iterable<LogEntry>): number[] {
  return [...entries].map((e) => e.index);
}

export function texts(entries: Iterable<LogEntry>): string[] {
  return [...entries].map((e) => text(e.data));
}

export function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

/** Runs `fn` with a fresh temp dir and removes the dir afterwards, pass or fail. */
export async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await makeTempDir();
  try {
    await fn(dir);
  } finally {
    await removeDir(dir);
  }
}
