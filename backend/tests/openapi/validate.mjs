// Checks what backend/tests/openapi.rs hands it: that the document is valid OpenAPI 3.1 (against
// the specification's own JSON Schema, by @seriousme/openapi-schema-validator) and that each real
// answer matches the schema its operation documents for its status and content type (Ajv, JSON
// Schema 2020-12, the dialect of OpenAPI 3.1).
//
// node validate.mjs <tools dir (holding node_modules)> <input.json>
// input: {"document": {...}, "answers": [{"method", "path", "status", "content_type", "empty", "body"}]}
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const [tools, inputPath] = process.argv.slice(2);
const require = createRequire(pathToFileURL(`${tools}/node_modules/`));
const { Validator } = await import(
  pathToFileURL(require.resolve("@seriousme/openapi-schema-validator")).href
);
const Ajv2020 = require("ajv/dist/2020").default;
const addFormats = require("ajv-formats").default;

const { document, answers } = JSON.parse(readFileSync(inputPath, "utf8"));
let failures = 0;

const validator = new Validator();
const spec = await validator.validate(document);
if (validator.version !== "3.1" || !spec.valid) {
  failures++;
  console.log(`not valid OpenAPI 3.1 (read as ${validator.version}):`, JSON.stringify(spec.errors, null, 1));
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
for (const format of ["int32", "int64", "uint64", "double", "float"]) ajv.addFormat(format, true);
ajv.addSchema(document, "doc");
const pointer = (s) => s.replaceAll("~", "~0").replaceAll("/", "~1");

for (const a of answers) {
  const where = `${a.method.toUpperCase()} ${a.path} ${a.status} ${a.content_type}`;
  const operation = document.paths?.[a.path]?.[a.method.toLowerCase()];
  const responses = operation?.responses ?? {};
  const status = String(a.status);
  const range = `${status[0]}XX`;
  const key = status in responses ? status : range in responses ? range : null;
  if (key === null) {
    failures++;
    console.log(`${where}: the document has no such answer`);
    continue;
  }
  const content = responses[key].content;
  if (a.empty) {
    if (content) {
      failures++;
      console.log(`${where}: answered no body, the document says ${Object.keys(content)}`);
    }
    continue;
  }
  if (!content?.[a.content_type]) {
    failures++;
    console.log(`${where}: the document has no ${a.content_type} body for ${key}`);
    continue;
  }
  const ref = `doc#/paths/${pointer(a.path)}/${a.method.toLowerCase()}/responses/${key}/content/${pointer(a.content_type)}/schema`;
  const validate = ajv.compile({ $ref: ref });
  if (!validate(a.body)) {
    failures++;
    console.log(`${where}: the answer does not match its schema:`, JSON.stringify(validate.errors, null, 1));
  }
}

console.log(`${answers.length} answers checked, ${failures} failure(s)`);
process.exit(failures === 0 ? 0 : 1);
