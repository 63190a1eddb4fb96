// layout.test.mjs -- unit test of the console's pure logic under node (no
// browser): graph.js's layout of every shipped definition
// (config/workflows/*.json) and a synthetic one with Parallel, Map, Catch
// and a loop, and run.js's grouping of history events into the timeline.
// Registered as ctest unit.console_layout (api/console/CMakeLists.txt).
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const {layoutMachine} = await import(path.join(root, 'api/console/graph.js'));
const {segments} = await import(path.join(root, 'api/console/pages/run.js'));

let failures = 0;
const check = (cond, what) => {
  if (!cond) { failures++; console.log(`not ok - ${what}`); }
};

const overlap = (a, b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

// Checks one laid-out box and the boxes nested in it; returns the number of
// back edges found (loops).
function checkBox(box, states, where) {
  let back = 0;
  const named = box.nodes.filter((n) => !n.name.startsWith('\u0000'));
  check(named.length === Object.keys(states).length, `${where}: every state drawn once`);
  for (const n of box.nodes) {
    check(n.x >= 0 && n.y >= 0 && n.x + n.w <= box.w + 0.01 && n.y + n.h <= box.h + 0.01, `${where}: ${n.name} inside its box`);
    for (const m of box.nodes) if (m !== n) check(!overlap(n, m), `${where}: ${n.name} and ${m.name} do not overlap`);
    if (n.subs.length) {
      const inner = n.subs.reduce((a, s) => a + s.w, 0);
      check(inner <= n.w, `${where}: ${n.name} holds its branches`);
      const st = n.st;
      const subStates = st.Type === 'Map' ? [(st.ItemProcessor || st.Iterator).States] : st.Branches.map((b) => b.States);
      n.subs.forEach((s, i) => { back += checkBox(s, subStates[i], `${where}/${n.name}[${i}]`); });
    }
  }
  const byName = new Map(box.nodes.map((n) => [n.name, n]));
  for (const e of box.edges) {
    if (e.back) { back++; continue; }
    check(byName.get(e.to).y > byName.get(e.from).y, `${where}: forward edge ${e.from} -> ${e.to} goes down`);
  }
  return back;
}

const defs = fs.readdirSync(path.join(root, 'config/workflows')).filter((f) => f.endsWith('.json'));
check(defs.length > 5, 'the shipped definitions are found');
for (const f of defs) {
  const def = JSON.parse(fs.readFileSync(path.join(root, 'config/workflows', f), 'utf8'));
  const box = layoutMachine(def.States, def.StartAt, true);
  checkBox(box, def.States, f);
  const start = box.nodes.find((n) => n.name === '\u0000start');
  const first = box.nodes.find((n) => n.name === def.StartAt);
  check(start.y < first.y, `${f}: the start marker is above StartAt`);
}

const synthetic = {
  StartAt: 'Prepare',
  States: {
    Prepare: {Type: 'Task', Resource: 'x', Next: 'Fan', Catch: [{ErrorEquals: ['States.ALL'], Next: 'Failed'}]},
    Fan: {Type: 'Parallel', Next: 'Items', Branches: [
      {StartAt: 'A', States: {A: {Type: 'Task', Resource: 'x', Next: 'A2'}, A2: {Type: 'Pass', End: true}}},
      {StartAt: 'B', States: {B: {Type: 'Task', Resource: 'x', End: true}}}]},
    Items: {Type: 'Map', Next: 'Decide', ItemProcessor: {StartAt: 'Each', States: {Each: {Type: 'Task', Resource: 'x', End: true}}}},
    Decide: {Type: 'Choice', Default: 'Failed', Choices: [
      {Variable: '$.ok', BooleanEquals: true, Next: 'Done'}, {Variable: '$.n', NumericLessThan: 3, Next: 'Prepare'}]},
    Done: {Type: 'Succeed'},
    Failed: {Type: 'Fail'},
  },
};
const box = layoutMachine(synthetic.States, synthetic.StartAt, true);
check(checkBox(box, synthetic.States, 'synthetic') === 1, 'synthetic: the loop Decide -> Prepare is the one back edge');
const fan = box.nodes.find((n) => n.name === 'Fan');
check(fan.subs.length === 2 && fan.subs[0].nodes.length === 2, 'synthetic: Parallel holds two branches, the first of two states');
check(box.edges.some((e) => e.kind === 'catch' && e.to === 'Failed' && /States\.ALL/.test(e.label)), 'synthetic: the Catch edge is labelled');
check(box.edges.some((e) => e.kind === 'choice' && e.label === '$.ok == true'), 'synthetic: the Choice rule is its edge label');
const end = box.nodes.find((n) => n.name === '\u0000end');
check(box.edges.filter((e) => e.to === '\u0000end').length === 2, 'synthetic: Succeed and Fail lead to the end marker');
check(Math.max(...box.nodes.filter((n) => n !== end).map((n) => n.y)) < end.y, 'synthetic: the end marker is last');

// The timeline: consecutive events of a state form one segment; a segment
// lasts until the next one starts; the open one until now.
const evs = [
  {seq: 1, type: 'WorkflowStarted', time: 1000, state: null},
  {seq: 2, type: 'ActivityScheduled', time: 1010, state: 'Prepare'},
  {seq: 3, type: 'ActivityCompleted', time: 1900, state: 'Prepare'},
  {seq: 4, type: 'SignalWaiting', time: 1905, state: 'WaitForApproval'},
];
const open = segments(evs, null, 5000);
check(open.length === 3 && open[1].state === 'Prepare' && open[1].events.length === 2, 'timeline: events grouped by state');
check(open[1].end - open[1].start === 895, 'timeline: a state lasts until the next starts');
check(open[2].open && open[2].end === 5000, 'timeline: the current state lasts until now');
const closed = segments(evs.concat([{seq: 5, type: 'WorkflowCompleted', time: 7000, state: 'Done'}]), 7000, 9000);
check(!closed[3].open && closed[2].end === 7000, 'timeline: once closed, nothing is open');

console.log(failures ? `${failures} check(s) failed` : 'ok - console layout and timeline');
process.exit(failures ? 1 : 0);
