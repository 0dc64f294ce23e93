/** The benchmark token's 50 rules: 49 that do not match the key (prefixes, exact keys, other resources), and the one that does. */
export function benchRules(): string[] {
  const rules: string[] = [];
  for (let i = 0; i < 20; i++) rules.push(`key_prefix "team${i}/" { policy = "write" }`);
  for (let i = 0; i < 15; i++) rules.push(`key "config/item${i}" { policy = "read" }`);
  for (let i = 0; i < 14; i++) rules.push(`service "svc${i}" { policy = "read" }`);
  rules.push(`key_prefix "bench/" { policy = "read" }`);
  return rules;
}
