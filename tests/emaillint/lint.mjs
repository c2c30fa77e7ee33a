// Email-client support lint: caniemail data (through doiuse-email) over one HTML file.
//   node lint.mjs FILE.html CLIENT_GLOB...
// Prints {"errors": [...], "warnings": [...]} (unique messages, doiuse-email's wording:
// "`feature` is not supported by `client`"); the Python test holds the allow-list and decides.
//
// doiuse-email looks only at top-level CSS rules and at the name of an at-rule, so two gaps are
// filled here: the rules inside @media blocks are linted too, and media features such as
// (prefers-color-scheme) are checked against their own caniemail entries.
import { readFileSync } from 'node:fs';
import css from 'css';
import { doIUseEmail } from 'doiuse-email';

const [file, ...emailClients] = process.argv.slice(2);
if (!file || emailClients.length === 0) {
  console.error('usage: node lint.mjs FILE.html CLIENT_GLOB...');
  process.exit(2);
}
const html = readFileSync(file, 'utf8');
const errors = new Set();
const warnings = new Set();
const collect = (result) => {
  for (const e of result.errors ?? []) errors.add(e);
  for (const w of result.warnings ?? []) warnings.add(w);
};
collect(doIUseEmail(html, { emailClients }));

// <style> blocks outside comments (those inside <!--[if mso]> are for Outlook alone).
const styles = [...html.replace(/<!--[\s\S]*?-->/g, '').matchAll(/<style[^>]*>([\s\S]*?)<\/style>/gi)]
  .map((m) => css.parse(m[1]));
const mediaRules = styles.flatMap((s) => s.stylesheet.rules.filter((r) => r.type === 'media'));

const inner = mediaRules.map((r) => css.stringify({ type: 'stylesheet', stylesheet: { rules: r.rules } }));
if (inner.length) collect(doIUseEmail(`<style>${inner.join('\n')}</style>`, { emailClients }));

const data = JSON.parse(
  readFileSync(new URL('./node_modules/doiuse-email/data/can-i-email.json', import.meta.url), 'utf8'),
);
const wanted = (client) =>
  emailClients.some((glob) => new RegExp(`^${glob.replace(/\./g, '\\.').replace(/\*/g, '.*')}$`).test(client));
for (const feature of data.data.filter((f) => /^@media \(/.test(f.title))) {
  const names = [...feature.title.matchAll(/\(([\w-]+)\)/g)].map((m) => m[1]);
  if (!mediaRules.some((r) => names.some((n) => r.media.includes(n)))) continue;
  for (const [family, platforms] of Object.entries(feature.stats)) {
    for (const [platform, versions] of Object.entries(platforms)) {
      const client = `${family}.${platform}`;
      if (!wanted(client)) continue;
      const latest = versions[Object.keys(versions).sort().at(-1)];  // doiuse-email's rule too
      if (latest.startsWith('n')) errors.add(`\`${feature.title}\` is not supported by \`${client}\``);
      else if (!latest.startsWith('y')) warnings.add(`\`${feature.title}\` is only partially supported by \`${client}\``);
    }
  }
}
console.log(JSON.stringify({ errors: [...errors].sort(), warnings: [...warnings].sort() }, null, 1));
