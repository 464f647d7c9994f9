// The page: each model's section is built from its own module (the example in its --help, the
// input schema and evaluation in its --info), and every answer is the module's own output.
import { run, fileSha256 } from "./wasi.js";

const moduleUrl = (name) => `modules/${name}.wasm`;

/** Runs a module and returns its result, never throwing: a failure to fetch is a message. */
async function runSafely(name, args, stdin) {
  try {
    return await run(moduleUrl(name), args, stdin);
  } catch (error) {
    return { code: 1, stdout: new Uint8Array(), text: "", stderr: `${error.message ?? error}\n` };
  }
}

/** The first line a module wrote on stderr: its one-line reason. */
const reason = (result) => result.stderr.trim().split("\n")[0] || `the module exited with code ${result.code}`;

/** The JSON example in a module's --help (`Example:` then `  <name> '<json>'`). */
function helpExample(help) {
  const lines = help.split("\n");
  const at = lines.findIndex((line) => line.trim() === "Example:");
  const line = at < 0 ? "" : lines[at + 1] ?? "";
  const start = line.indexOf("'");
  return JSON.parse(line.slice(start + 1, line.lastIndexOf("'")));
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

/** What each model's result area holds; filled by `show`. */
function resultArea(algo, container) {
  const answer = element("p", { class: "answer", "data-testid": `${algo}-answer`, "data-run": "0", "aria-live": "polite" });
  const error = element("p", { class: "error", "data-testid": `${algo}-error`, role: "alert", hidden: "" });
  const bars = element("div", { class: "bars", "data-testid": `${algo}-probabilities` });
  const command = element("pre", { "data-testid": `${algo}-command` });
  const output = element("pre", { "data-testid": `${algo}-output` });
  const card = element("dl", { class: "card", "data-testid": `${algo}-info` });
  const curve = element("img", { class: "curve", src: `curves/${algo}.png`, alt: `${algo}: training and validation curves`, loading: "lazy" });
  container.append(
    answer,
    error,
    bars,
    element("details", {}, element("summary", {}, "What ran, and what it printed"), command, output),
    element("details", { open: "" }, element("summary", {}, "The model: its identity, evaluation and training curve"), card, curve),
  );
  return { answer, error, bars, command, output, card, runs: 0 };
}

/** The answer a successful run printed, or null when its output is not a JSON object. */
function parseAnswer(result) {
  try {
    const answer = JSON.parse(result.text);
    return answer !== null && typeof answer === "object" ? answer : null;
  } catch {
    return null;
  }
}

/** Shows one run: the answer and its probabilities, or the module's message. */
function show(area, result, describe, command, stdin) {
  const answer = result.code === 0 ? parseAnswer(result) : null;
  if (result.code === 0 && answer === null) {
    result = { ...result, code: 1, stderr: `${result.stderr}the module's answer is not JSON: ${result.text.slice(0, 200)}\n` };
  }
  area.runs += 1;
  area.command.textContent = command;
  if (stdin === undefined) delete area.command.dataset.stdin;
  else area.command.dataset.stdin = stdin;
  area.output.textContent = result.text + result.stderr;
  area.bars.replaceChildren();
  if (answer === null) {
    area.answer.textContent = "";
    area.error.textContent = reason(result);
    area.error.hidden = false;
    area.answer.dataset.state = "refused";
  } else {
    area.error.hidden = true;
    area.error.textContent = "";
    area.answer.textContent = describe(answer);
    area.answer.dataset.state = "answered";
    if (answer.probabilities) drawBars(area.bars, answer.probabilities, answer.class);
  }
  area.answer.dataset.run = String(area.runs);
}

function drawBars(container, probabilities, chosen) {
  const entries = Object.entries(probabilities).sort((a, b) => b[1] - a[1]);
  for (const [label, p] of entries) {
    const top = label === chosen ? "top" : undefined;
    const fill = element("span");
    fill.style.width = `${(Math.max(0, Math.min(1, p)) * 100).toFixed(1)}%`;
    container.append(
      element("span", { class: top }, label),
      element("div", { class: "bar", role: "meter", "aria-valuemin": "0", "aria-valuemax": "1", "aria-valuenow": String(p), "aria-label": label }, fill),
      element("span", { class: top, "data-probability": label }, `${(p * 100).toFixed(2)}%`),
    );
  }
}

/** The model card: the module file, the model it embeds, and its evaluation. */
async function fillCard(algo, area) {
  const [info, file] = await Promise.all([runSafely(`${algo}-inference`, ["--info"]), fileSha256(moduleUrl(`${algo}-inference`))]);
  if (info.code !== 0) throw new Error(`${algo}-inference --info: ${reason(info)}`);
  const card = JSON.parse(info.text);
  const evaluation = card.training?.evaluation ?? {};
  const rows = [
    ["module", `${algo}-inference.wasm, ${(file.size / 1e6).toFixed(2)} MB`],
    ["module SHA-256", file.sha256],
    ["model SHA-256", card.model_sha256],
    ...evaluationRows(evaluation),
    ["trained", `${card.training?.epochs_run} epochs on ${card.training?.backend}, ${Number(card.training?.training_seconds).toFixed(1)} s`],
  ];
  area.card.replaceChildren(...rows.flatMap(([k, v]) => [element("dt", {}, k), element("dd", {}, String(v))]));
  return card;
}

function evaluationRows(evaluation) {
  if (typeof evaluation.accuracy === "number") {
    return [["accuracy", `${(evaluation.accuracy * 100).toFixed(2)}% on ${evaluationSize(evaluation)} held-out examples`]];
  }
  const test = evaluation.test ?? {};
  return [
    ["test MAE", `${Number(test.mae).toFixed(3)} quality points (always answering the mean: ${Number(evaluation.mean_predictor?.mae).toFixed(3)})`],
    ["within 1 point", `${(Number(test.within_1_0) * 100).toFixed(1)}% of ${evaluation.examples} test wines`],
  ];
}

const evaluationSize = (evaluation) => (evaluation.confusion ?? []).flat().reduce((n, c) => n + c, 0);

// ---- Forms: Iris, Wine Quality, AG News ----------------------------------------------------

const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** One field per key of the module's example, in its order, described by the input schema. */
function buildForm(algo, form, example, schema) {
  for (const [key, value] of Object.entries(example)) {
    const spec = schema[key] ?? {};
    const label = element("label", {}, key.replaceAll("_", " "));
    let input;
    if (Array.isArray(spec.enum)) {
      input = element("select", { name: key }, ...spec.enum.map((option) => element("option", option === value ? { value: option, selected: "" } : { value: option }, option)));
    } else if (spec.type === "number") {
      input = element("input", { name: key, type: "text", inputmode: "decimal", autocomplete: "off", value: String(value) });
      const bound = (x) => String(Number(Number(x).toPrecision(6)));
      label.append(element("span", { class: "range" }, `${spec.unit ?? ""}${spec.unit ? ", " : ""}${bound(spec.minimum)} to ${bound(spec.maximum)}`));
    } else if (key === "description" || key === "text") {
      input = element("textarea", { name: key, rows: "3" }, String(value));
      label.classList.add("wide");
    } else {
      input = element("input", { name: key, type: "text", autocomplete: "off", value: String(value) });
      label.classList.add("wide");
    }
    label.append(input);
    form.append(label);
  }
  form.append(element("button", { type: "submit" }, "Ask the module"));
}

/** The form as the module's JSON input: numbers as numbers, empty fields left out (the module
 * names what is missing), anything else as typed, for the module to judge. */
function formInput(form, schema) {
  const input = {};
  for (const field of form.elements) {
    if (!field.name) continue;
    const text = field.value.trim();
    if (text === "") continue;
    input[field.name] = schema[field.name]?.type === "number" && JSON_NUMBER.test(text) ? Number(text) : field.value;
  }
  return JSON.stringify(input);
}

const shellQuote = (text) => `'${text.replaceAll("'", "'\\''")}'`;

// The quality with the one decimal the module prints (JSON's 6.0 reads back as the number 6).
const describeAnswer = (answer) => (answer.class !== undefined ? answer.class : `quality ${Number(answer.quality).toFixed(1)} (grade ${answer.grade})`);

async function setUpForm(algo) {
  const section = document.getElementById(algo);
  const form = section.querySelector("form");
  const area = resultArea(algo, section.querySelector(".result"));
  const help = await runSafely(`${algo}-inference`, ["--help"]);
  if (help.code !== 0) throw new Error(`${algo}-inference --help: ${reason(help)}`);
  const card = await fillCard(algo, area);
  const schema = card.input_schema ?? {};
  buildForm(algo, form, helpExample(help.text), schema);
  form.dataset.testid = `${algo}-form`;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const stdin = formInput(form, schema);
    const result = await runSafely(`${algo}-inference`, ["--json", "-"], stdin);
    show(area, result, describeAnswer, `echo ${shellQuote(stdin)} | wasmtime ${algo}-inference.wasm --json -`, stdin);
  });
}

// ---- MNIST: a canvas, a photo, and convert-image ------------------------------------------

function setUpCanvas(canvas, onStroke) {
  const context = canvas.getContext("2d");
  const clear = () => {
    context.fillStyle = "#fff";
    context.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
  context.lineCap = "round";
  context.lineJoin = "round";
  context.lineWidth = 20;
  context.strokeStyle = "#000";
  let drawing = false;
  const at = (event) => {
    const box = canvas.getBoundingClientRect();
    return [((event.clientX - box.left) * canvas.width) / box.width, ((event.clientY - box.top) * canvas.height) / box.height];
  };
  canvas.addEventListener("pointerdown", (event) => {
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    const [x, y] = at(event);
    context.beginPath();
    context.moveTo(x, y);
    context.lineTo(x, y);
    context.stroke();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const [x, y] = at(event);
    context.lineTo(x, y);
    context.stroke();
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    onStroke();
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  return clear;
}

/** Shows the 784 levels the model read. */
function drawLevels(canvas, levels) {
  const context = canvas.getContext("2d");
  const image = context.createImageData(28, 28);
  levels.forEach((level, i) => {
    image.data.set([level, level, level, 255], i * 4);
  });
  context.putImageData(image, 0, 0);
}

async function setUpMnist() {
  const section = document.getElementById("mnist");
  const area = resultArea("mnist", section.querySelector(".result"));
  await fillCard("mnist", area);
  const preview = document.getElementById("mnist-input");
  const pictureLink = document.getElementById("mnist-picture");
  const canvas = document.getElementById("mnist-canvas");
  let pending = Promise.resolve();

  // The picture goes through convert-image.wasm, then mnist-inference.wasm, as on the command line.
  const classify = (bytes, name) => {
    // One picture at a time, in order; a failure shows its message and the next one runs.
    pending = pending.then(async () => {
      if (pictureLink.href) URL.revokeObjectURL(pictureLink.href);
      pictureLink.href = URL.createObjectURL(new Blob([bytes]));
      pictureLink.download = name;
      pictureLink.hidden = false;
      const command = `wasmtime convert-image.wasm - < ${name} | wasmtime mnist-inference.wasm --json -`;
      const converted = await runSafely("convert-image", ["-"], bytes);
      if (converted.code !== 0) {
        preview.getContext("2d").clearRect(0, 0, 28, 28);
        show(area, converted, () => "", command);
        return;
      }
      drawLevels(preview, JSON.parse(converted.text));
      const result = await runSafely("mnist-inference", ["--json", "-"], converted.stdout);
      show(area, result, (answer) => answer.class, command);
    }).catch((error) => {
      show(area, { code: 1, stdout: new Uint8Array(), text: "", stderr: `${error.message ?? error}\n` }, () => "", "");
    });
    return pending;
  };

  const clear = setUpCanvas(canvas, () => {
    canvas.toBlob(async (blob) => classify(new Uint8Array(await blob.arrayBuffer()), "digit.png"), "image/png");
  });
  document.getElementById("mnist-clear").addEventListener("click", () => {
    clear();
    preview.getContext("2d").clearRect(0, 0, 28, 28);
    area.answer.textContent = "";
    area.bars.replaceChildren();
    area.error.hidden = true;
  });
  section.querySelector('input[name="photo"]').addEventListener("change", async (event) => {
    const file = event.target.files?.[0];
    if (file) await classify(new Uint8Array(await file.arrayBuffer()), file.name.replace(/[^\w.-]/g, "_") || "photo");
  });
}

async function main() {
  const status = document.getElementById("status");
  const results = await Promise.allSettled([setUpMnist(), setUpForm("iris"), setUpForm("wine-quality"), setUpForm("ag-news")]);
  const failed = results.filter((r) => r.status === "rejected").map((r) => r.reason?.message ?? String(r.reason));
  status.textContent = failed.length ? `Some models could not start: ${failed.join("; ")}` : "Ready: every model runs in this tab.";
  status.dataset.state = failed.length ? "failed" : "ready";
  status.classList.toggle("error", failed.length > 0);
}

main();
