// Validates Kubernetes manifests offline against the official API schemas, as packaged by
// the npm package kubernetes-models (its JSON-Schema validators, @kubernetes-models/validate).
//
//   node k8s_validate.js NODE_MODULES < docs.json      docs.json: [{"name": ..., "doc": {...}}]
//
// Prints one JSON line per document: {"name", "kind", "ok", "errors": [...]}; exits 0 when
// every document is valid, 1 when one is not, 2 on a usage error.
//
// Two checks per document:
//   1. the model's own validate(): types, enums, required fields, formats (quantities,
//      int32), over the whole object — what the API server's OpenAPI schema says;
//   2. unknown fields: the generated schemas allow any extra key, but the API server
//      refuses them (kubectl's default --validate=strict), so a typo such as
//      `concurencyPolicy` would not deploy. The fields of every type are read from the
//      package's TypeScript declarations (one interface per API type, each property
//      `"name"?: Type;`), and every key of the document must be one of its type's fields.
"use strict";
const fs = require("fs");
const path = require("path");

const nm = process.argv[2];
if (!nm || !fs.existsSync(path.join(nm, "kubernetes-models"))) {
  console.error("usage: node k8s_validate.js NODE_MODULES (holding kubernetes-models) < docs.json");
  process.exit(2);
}

function walk(dir, out) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

// canonical type name -> { field: type text }
const types = new Map();
// .d.ts file -> canonical name of its interface
const canonicalOf = new Map();

function parseDeclarations(file) {
  const text = fs.readFileSync(file, "utf8").replace(/\/\*\*[\s\S]*?\*\//g, "");
  const alias = /export \{ (\w+) as (I\w+),/.exec(text);
  const iface = /export interface (\w+)(?: extends [^{]+)? \{\n([\s\S]*?)\n\}/.exec(text);
  if (!alias || !iface || alias[1] !== iface[1]) return;
  const [, local, canonical] = alias;
  const body = iface[2];
  const starts = [...body.matchAll(/^ {4}"([^"]+)"\??: /gm)];
  const fields = {};
  starts.forEach((m, i) => {
    const end = i + 1 < starts.length ? starts[i + 1].index : body.length;
    let type = body.slice(m.index + m[0].length, end).replace(/\s+/g, " ").trim().replace(/;$/, "");
    type = type.replace(new RegExp(`\\b${local}\\b`, "g"), canonical);  // a type naming itself
    fields[m[1]] = type;
  });
  types.set(canonical, fields);
  canonicalOf.set(path.resolve(file), canonical);
}

for (const root of ["kubernetes-models", "@kubernetes-models/apimachinery"]) {
  const dir = path.join(nm, root);
  if (fs.existsSync(dir)) walk(dir, []).forEach(parseDeclarations);
}

// What a field's type says about the value under it.
function shape(type) {
  let m;
  if ((m = /^(I\w+)$/.exec(type))) return { kind: "object", type: m[1] };
  if ((m = /^Array<(I\w+)>$/.exec(type))) return { kind: "array", type: m[1] };
  if ((m = /^\{ \[key: string\]: (I\w+); \}$/.exec(type))) return { kind: "map", type: m[1] };
  return null;
}

function unknownFields(value, typeName, at, errors) {
  const fields = types.get(typeName);
  if (!fields || value === null || typeof value !== "object" || Array.isArray(value)) return;
  for (const [key, v] of Object.entries(value)) {
    if (!(key in fields)) {
      errors.push(`${at}/${key} is not a field of ${typeName.replace(/^IIoK8s/, "")}`);
      continue;
    }
    const s = shape(fields[key]);
    if (!s) continue;
    if (s.kind === "object") unknownFields(v, s.type, `${at}/${key}`, errors);
    else if (s.kind === "array" && Array.isArray(v)) v.forEach((x, i) => unknownFields(x, s.type, `${at}/${key}/${i}`, errors));
    else if (s.kind === "map" && v && typeof v === "object")
      for (const [k, x] of Object.entries(v)) unknownFields(x, s.type, `${at}/${key}/${k}`, errors);
  }
}

function check(doc) {
  const errors = [];
  if (!doc || typeof doc !== "object" || typeof doc.apiVersion !== "string" || typeof doc.kind !== "string")
    return { kind: "?", errors: ["not a Kubernetes object (apiVersion and kind)"] };
  const kind = `${doc.apiVersion}/${doc.kind}`;
  if (!/^[a-z0-9.]+(\/[a-z0-9]+)?$/.test(doc.apiVersion) || !/^[A-Za-z]+$/.test(doc.kind))
    return { kind, errors: [`unknown apiVersion/kind ${kind}`] };
  const base = path.join(nm, "kubernetes-models", doc.apiVersion, doc.kind);
  if (!fs.existsSync(base + ".js")) return { kind, errors: [`unknown apiVersion/kind ${kind}`] };
  const Model = require(base + ".js")[doc.kind];
  try {
    new Model(doc).validate();
  } catch (e) {
    errors.push(...String(e.message).split(", "));
  }
  const canonical = canonicalOf.get(path.resolve(base + ".d.ts"));
  if (!canonical) errors.push(`no field list for ${kind} in the package's declarations`);
  else unknownFields(doc, canonical, "data", errors);
  return { kind, errors };
}

const input = JSON.parse(fs.readFileSync(0, "utf8"));
let bad = 0;
for (const { name, doc } of input) {
  const r = check(doc);
  if (r.errors.length) bad++;
  process.stdout.write(JSON.stringify({ name, kind: r.kind, ok: r.errors.length === 0, errors: r.errors }) + "\n");
}
if (types.size < 100) {
  console.error(`only ${types.size} API types were read from the declarations: the package's layout changed`);
  process.exit(2);
}
process.exit(bad ? 1 : 0);
