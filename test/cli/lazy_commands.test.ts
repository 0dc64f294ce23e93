/** The command table loads each command only when it runs; its one-line synopses must stay those of the commands. */
import { expect, test } from "bun:test";
import { commands } from "../../src/cli/commands.ts";

test("every lazily loaded command has the synopsis its module declares", async () => {
  for (const [name, command] of Object.entries(commands)) {
    if (!("load" in command) || name === "agent") continue;
    expect(`${name}: ${(await command.load()).synopsis}`).toBe(`${name}: ${command.synopsis}`);
  }
});
