/** How the intention commands print intentions (Go's api.Intention.String and command/intention/format.go). */
import { type Intention, intentionPart } from "../../api/mod.ts";

/** `web => db (allow)`, or `(2 permissions)` for an L7 intention; namespaces shown only when not the default. */
export function intentionLine(ixn: Intention): string {
  const n = ixn.Permissions?.length ?? 0;
  const detail = n === 0 ? (ixn.Action ?? "") : n === 1 ? "1 permission" : `${n} permissions`;
  return `${intentionPart(ixn.SourceNS, ixn.SourceName)} => ${intentionPart(ixn.DestinationNS, ixn.DestinationName)} (${detail})`;
}

/** Go's time.RFC850 in UTC: `Monday, 02-Jan-06 15:04:05 UTC`; a missing time is Go's zero time. */
export function rfc850(iso: string | undefined): string {
  const d = iso ? new Date(iso) : new Date(Date.UTC(1, 0, 1));
  if (!iso) d.setUTCFullYear(1);
  const days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())}-${months[d.getUTCMonth()]}-${p(d.getUTCFullYear() % 100)} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} UTC`;
}

/** `[partition/][namespace/]name`, as the create command parses a target. */
export function parseTarget(input: string): { name: string; namespace: string; partition: string } {
  const parts = input.split("/");
  if (parts.length === 1) return { name: parts[0]!, namespace: "", partition: "" };
  if (parts.length === 2) return { name: parts[1]!, namespace: parts[0]!, partition: "" };
  if (parts.length === 3) return { name: parts[2]!, namespace: parts[1]!, partition: parts[0]! };
  throw new Error("input can contain at most two '/'");
}
