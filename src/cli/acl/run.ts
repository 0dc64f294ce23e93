/** What every `acl` subcommand shares: connect, run one API call, print its result or "<what>: <error>". */
import type { Client } from "../../api/mod.ts";
import { errorText } from "../command.ts";
import { clientFlags, connectAgent, type HttpFlagValues } from "../http_flags.ts";
import { stringFlag } from "../flags.ts";
import type { Ui } from "../io.ts";

export const commonFlags = {
  ...clientFlags,
  format: stringFlag("pretty", "Output format {pretty|json}"),
} as const;

export async function aclRun(values: HttpFlagValues & { format?: string }, ui: Ui, what: string, fn: (c: Client) => Promise<string | null>): Promise<number> {
  if (values.format !== undefined && values.format !== "pretty" && values.format !== "json") {
    ui.error(`Invalid format specified: ${JSON.stringify(values.format)}; valid formats are pretty, json`);
    return 1;
  }
  const client = await connectAgent(values, ui);
  if (!client) return 1;
  let out: string | null;
  try {
    out = await fn(client);
  } catch (err) {
    ui.error(`${what}: ${errorText(err)}`);
    return 1;
  }
  if (out !== null) ui.output(out);
  return 0;
}
