/**
 * Go's `path.Join`: joins non-empty elements and cleans the result, dropping
 * any trailing slash. Lock keys (`<prefix>/.lock`) and semaphore contender
 * keys are built with it, so the same inputs must give the same key as Go.
 */
export function joinPath(...elements: string[]): string {
  const parts = elements.filter((e) => e !== "");
  if (parts.length === 0) return "";
  return cleanPath(parts.join("/"));
}

/** Go's `path.Clean`. */
export function cleanPath(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(seg);
  }
  const joined = out.join("/");
  if (rooted) return `/${joined}`;
  return joined === "" ? "." : joined;
}
