/** `consulate services register`: register services with the local agent from files or flags. */
import { getField, type RawService, servicesFromFiles, setField, stringField } from "./files.ts";
import { defineCommand, errorText } from "../command.ts";
import { type Flag, intFlag, mapFlag, stringFlag } from "../flags.ts";
import { connectAgent, clientFlags, serverFlags } from "../http_flags.ts";

const help = `
Usage: consulate services register [options] [FILE...]

  Register one or more services using the local agent API. Services can
  be registered from standard Consul configuration files (JSON) or
  using flags. The service is registered and the command returns. The caller
  must remember to call "consulate services deregister" or a similar API to
  deregister the service when complete.

      $ consulate services register web.json

  Additional flags and more advanced use cases are detailed below.
`;

/** A repeatable string flag (Consul's AppendSliceValue). */
export function listFlag(usage: string): Flag<string[]> {
  return { kind: "string", initial: [], usage, placeholder: "value", group: "command", parse: (raw, prev) => [...prev, raw] };
}

const flags = {
  ...clientFlags,
  ...serverFlags,
  id: stringFlag("", "ID of the service to register for arg-based registration. If this isn't set, it will default to the -name value."),
  name: stringFlag("", "Name of the service to register for arg-based registration."),
  address: stringFlag("", "Address of the service to register for arg-based registration."),
  port: intFlag(0, "Port of the service to register for arg-based registration."),
  socket: stringFlag("", "Path to the Unix domain socket to register for arg-based registration (conflicts with address and port)."),
  meta: mapFlag("Metadata to set on the service, formatted as key=value. This flag may be specified multiple times to set multiple meta fields."),
  tag: listFlag("Tag to add to the service. This flag can be specified multiple times to set multiple tags."),
  "tagged-address": mapFlag("Tagged address to set on the service, formatted as key=value. This flag may be specified multiple times to set multiple addresses."),
  kind: stringFlag("", "The services 'kind'"),
};

/** Go's api.ParseServiceAddr: "host:port", "[v6]:port" or a bare host. */
export function parseServiceAddr(text: string): { Address: string; Port: number } {
  const m = /^\[([^\]]*)\]:([^:]*)$/.exec(text) ?? /^([^:]*):([^:]*)$/.exec(text);
  if (!m) return { Address: text, Port: 0 };
  if (!/^\d+$/.test(m[2]!) || Number(m[2]) > 65535) throw new Error(`invalid port ${JSON.stringify(m[2])}: must be a number from 0 to 65535`);
  return { Address: m[1]!, Port: Number(m[2]) };
}

/** Consul's CombineArgs: a flag fills a field the file leaves empty; meta, tagged addresses and tags add up. */
function combine(file: RawService, flag: RawService): void {
  for (const key of ["ID", "Name", "Address", "Kind", "SocketPath"]) {
    if (stringField(flag, key) !== "" && stringField(file, key) === "") setField(file, key, flag[key]);
  }
  const port = getField(file, "Port");
  if ((flag.Port as number) !== 0 && (port === undefined || port === 0)) setField(file, "Port", flag.Port);
  setField(file, "Meta", { ...((getField(file, "Meta") as object | undefined) ?? {}), ...(flag.Meta as object) });
  setField(file, "TaggedAddresses", { ...((getField(file, "TaggedAddresses") as object | undefined) ?? {}), ...(flag.TaggedAddresses as object) });
  const tags = getField(file, "Tags");
  setField(file, "Tags", [...(Array.isArray(tags) ? tags : []), ...(flag.Tags as string[])]);
}

export const servicesRegisterCommand = defineCommand({
  synopsis: "Register services with the local agent",
  help,
  flags,
  async run({ values, args }, ui) {
    const tagged: Record<string, { Address: string; Port: number }> = {};
    for (const [k, v] of Object.entries(values["tagged-address"])) {
      try {
        tagged[k] = parseServiceAddr(v);
      } catch (err) {
        ui.error(`Invalid Tagged Address: ${errorText(err)}`);
        return 1;
      }
    }
    const fromFlags: RawService = {
      Kind: values.kind,
      ID: values.id,
      Name: values.name,
      Address: values.address,
      Port: values.port,
      SocketPath: values.socket,
      Tags: values.tag,
      Meta: values.meta,
      TaggedAddresses: tagged,
    };
    if (args.length === 0 && values.name === "") {
      ui.error("Service registration requires at least one argument or flags.");
      return 1;
    }
    if (args.length > 0 && values.name !== "") {
      ui.error("Service registration requires arguments or -id, not both.");
      return 1;
    }
    let services: RawService[] = [];
    if (args.length > 0) {
      try {
        services = await servicesFromFiles(args);
      } catch (err) {
        ui.error(`Error: ${errorText(err)}`);
        return 1;
      }
      for (const s of services) combine(s, fromFlags);
    } else {
      services = [fromFlags];
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    for (const svc of services) {
      const name = stringField(svc, "Name");
      try {
        await client.agent().serviceRegister(svc);
      } catch (err) {
        ui.error(`Error registering service ${JSON.stringify(name)}: ${errorText(err)}`);
        return 1;
      }
      ui.output(`Registered service: ${name}`);
    }
    return 0;
  },
});
