/**
 * `/v1/agent/host` (what `consul debug` saves as host.json): memory, CPUs,
 * host and the data directory's disk, under gopsutil's JSON names as Consul
 * returns them. Figures the platform does not give stay 0 or "", and what
 * could not be read is named in `Errors` rather than failing the request.
 */
import { readFile, statfs } from "node:fs/promises";
import { arch, cpus, freemem, hostname, platform, release, totalmem, uptime } from "node:os";

export interface HostInfo {
  Memory: Record<string, number>;
  CPU: Record<string, unknown>[];
  Host: Record<string, unknown>;
  Disk: Record<string, unknown>;
  CollectionTime: bigint;
  Errors: { error: string }[] | null;
}

/** /proc/meminfo's kB figures by their name there; {} off Linux. */
async function meminfo(): Promise<Record<string, number>> {
  const text = await readFile("/proc/meminfo", "utf8");
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) * 1024;
  }
  return out;
}

async function memory(errors: string[]): Promise<Record<string, number>> {
  const total = totalmem();
  let m: Record<string, number> = {};
  try {
    m = await meminfo();
  } catch (err) {
    if (platform() === "linux") errors.push(`memory: ${(err as Error).message}`);
  }
  const free = m.MemFree ?? freemem();
  const available = m.MemAvailable ?? freemem();
  const used = total - available;
  const kb = (name: string) => m[name] ?? 0;
  return {
    total,
    available,
    used,
    usedPercent: total > 0 ? (used / total) * 100 : 0,
    free,
    active: kb("Active"),
    inactive: kb("Inactive"),
    wired: 0,
    laundry: 0,
    buffers: kb("Buffers"),
    cached: kb("Cached"),
    writeBack: kb("Writeback"),
    dirty: kb("Dirty"),
    writeBackTmp: kb("WritebackTmp"),
    shared: kb("Shmem"),
    slab: kb("Slab"),
    sreclaimable: kb("SReclaimable"),
    sunreclaim: kb("SUnreclaim"),
    pageTables: kb("PageTables"),
    swapCached: kb("SwapCached"),
    commitLimit: kb("CommitLimit"),
    committedAS: kb("Committed_AS"),
    highTotal: kb("HighTotal"),
    highFree: kb("HighFree"),
    lowTotal: kb("LowTotal"),
    lowFree: kb("LowFree"),
    swapTotal: kb("SwapTotal"),
    swapFree: kb("SwapFree"),
    mapped: kb("Mapped"),
    vmallocTotal: kb("VmallocTotal"),
    vmallocUsed: kb("VmallocUsed"),
    vmallocChunk: kb("VmallocChunk"),
    hugePagesTotal: m.HugePages_Total !== undefined ? m.HugePages_Total / 1024 : 0,
    hugePagesFree: m.HugePages_Free !== undefined ? m.HugePages_Free / 1024 : 0,
    hugePageSize: kb("Hugepagesize"),
  };
}

function cpuList(): Record<string, unknown>[] {
  return cpus().map((c, i) => ({
    cpu: i,
    vendorId: "",
    family: "",
    model: "",
    stepping: 0,
    physicalId: "",
    coreId: String(i),
    cores: 1,
    modelName: c.model,
    mhz: c.speed,
    cacheSize: 0,
    flags: [],
    microcode: "",
  }));
}

async function osRelease(): Promise<Record<string, string>> {
  try {
    const text = await readFile("/etc/os-release", "utf8");
    const out: Record<string, string> = {};
    for (const line of text.split("\n")) {
      const m = /^([A-Z_]+)=("?)(.*)\2$/.exec(line.trim());
      if (m) out[m[1]!] = m[3]!;
    }
    return out;
  } catch {
    return {};
  }
}

async function bootId(): Promise<string> {
  try {
    return (await readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim();
  } catch {
    return "";
  }
}

async function disk(path: string, errors: string[]): Promise<Record<string, unknown>> {
  try {
    const s = await statfs(path);
    const total = s.blocks * s.bsize;
    const free = s.bavail * s.bsize;
    const used = (s.blocks - s.bfree) * s.bsize;
    const inodesUsed = s.files - s.ffree;
    return {
      path,
      fstype: "",
      total,
      free,
      used,
      usedPercent: used + free > 0 ? (used / (used + free)) * 100 : 0,
      inodesTotal: s.files,
      inodesUsed,
      inodesFree: s.ffree,
      inodesUsedPercent: s.files > 0 ? (inodesUsed / s.files) * 100 : 0,
    };
  } catch (err) {
    errors.push(`disk: ${(err as Error).message}`);
    return { path, fstype: "", total: 0, free: 0, used: 0, usedPercent: 0, inodesTotal: 0, inodesUsed: 0, inodesFree: 0, inodesUsedPercent: 0 };
  }
}

/** Collects host figures; `dataDir` is the disk Consul reports ("/" when the agent keeps no data dir). */
export async function collectHostInfo(dataDir: string): Promise<HostInfo> {
  const errors: string[] = [];
  const rel = await osRelease();
  const up = Math.floor(uptime());
  const info: HostInfo = {
    Memory: await memory(errors),
    CPU: cpuList(),
    Host: {
      hostname: hostname(),
      uptime: up,
      bootTime: Math.floor(Date.now() / 1000) - up,
      procs: 0,
      os: platform(),
      platform: rel.ID ?? "",
      platformFamily: rel.ID_LIKE ?? rel.ID ?? "",
      platformVersion: rel.VERSION_ID ?? "",
      kernelVersion: release(),
      kernelArch: arch() === "x64" ? "x86_64" : arch() === "arm64" ? "aarch64" : arch(),
      virtualizationSystem: "",
      virtualizationRole: "",
      hostId: await bootId(),
    },
    Disk: await disk(dataDir || "/", errors),
    CollectionTime: BigInt(Date.now()) * 1_000_000n,
    Errors: null,
  };
  if (errors.length > 0) info.Errors = errors.map((error) => ({ error }));
  return info;
}
