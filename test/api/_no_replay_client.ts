/** Run under another runtime by no_replay.test.ts: two session creates through the api Client. */
import { Client } from "../../src/api/mod.ts";

const client = new Client({ address: `127.0.0.1:${process.argv[2]}` });
const results: string[] = [];
for (let i = 0; i < 2; i++) {
  try {
    const id = await client.session().create({});
    results.push(`ok ${id}`);
  } catch (err) {
    results.push(`error ${(err as Error).name}`);
  }
}
console.log(JSON.stringify(results));
