// Drives the page in a real browser (Debian's Chromium through playwright-core) as a person
// would: draws each digit as strokes, uploads a photo-like picture and a file that is not a
// picture, fills the forms, types headlines, and records what the page showed, for the Rust
// test (model-server/tests/page.rs) to check against the wasmtime CLI on the same inputs.
//
// Usage: node page.mjs URL OUT_DIR   (writes OUT_DIR/results.json, the pictures the page read
// under OUT_DIR/pictures/, and screenshots)
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [url, outDir] = process.argv.slice(2);
if (!url || !outDir) {
  console.error("usage: node page.mjs URL OUT_DIR");
  process.exit(2);
}
mkdirSync(join(outDir, "pictures"), { recursive: true });
let pictures = 0;
/** Keeps a picture the page read, for the wasmtime CLI to read too; returns its file name. */
const keepPicture = (base64, extension) => {
  const name = `pictures/${String(++pictures).padStart(2, "0")}.${extension}`;
  writeFileSync(join(outDir, name), Buffer.from(base64, "base64"));
  return name;
};

// Each digit as strokes in the canvas's unit square, drawn as people draw them.
const DIGITS = {
  0: [ellipse(0.5, 0.5, 0.17, 0.3, 28)],
  1: [[[0.46, 0.25], [0.53, 0.15], [0.52, 0.5], [0.5, 0.85]]],
  2: [[[0.32, 0.3], [0.4, 0.18], [0.52, 0.14], [0.63, 0.2], [0.66, 0.32], [0.6, 0.46], [0.47, 0.6], [0.32, 0.84], [0.5, 0.83], [0.7, 0.84]]],
  3: [[[0.33, 0.2], [0.5, 0.13], [0.64, 0.2], [0.63, 0.36], [0.47, 0.47], [0.64, 0.57], [0.67, 0.72], [0.52, 0.86], [0.32, 0.8]]],
  4: [[[0.38, 0.15], [0.33, 0.56], [0.72, 0.56]], [[0.62, 0.2], [0.62, 0.87]]],
  5: [[[0.67, 0.15], [0.38, 0.15], [0.35, 0.46], [0.5, 0.42], [0.64, 0.5], [0.67, 0.67], [0.56, 0.83], [0.34, 0.8]]],
  6: [[[0.63, 0.14], [0.47, 0.28], [0.37, 0.47], [0.35, 0.68], [0.44, 0.84], [0.59, 0.84], [0.67, 0.7], [0.61, 0.56], [0.46, 0.53], [0.37, 0.62]]],
  7: [[[0.3, 0.18], [0.7, 0.18], [0.58, 0.42], [0.46, 0.86]]],
  8: [ellipse(0.5, 0.31, 0.13, 0.16, 24), ellipse(0.5, 0.68, 0.16, 0.18, 24)],
  9: [[[0.64, 0.3], ...ellipse(0.5, 0.31, 0.14, 0.15, 22).slice(1), [0.64, 0.3], [0.62, 0.6], [0.6, 0.87]]],
};

function ellipse(cx, cy, rx, ry, n) {
  const points = [];
  for (let i = 0; i <= n; i++) {
    const a = (i / n) * 2 * Math.PI;
    points.push([cx + rx * Math.cos(a), cy + ry * Math.sin(a)]);
  }
  return points;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // The closed network refuses the browser's background connections: do not make them.
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const problems = [];
const cases = [];
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`uncaught: ${error.message}`));
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
  page.on("response", (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()} for ${response.url()}`);
  });
  await page.goto(url);
  await page.waitForSelector("[data-testid=page-status][data-state]", { timeout: 60_000 });
  const status = await page.textContent("[data-testid=page-status]");
  if ((await page.getAttribute("[data-testid=page-status]", "data-state")) !== "ready") {
    throw new Error(`the page did not start: ${status}`);
  }
  await page.screenshot({ path: join(outDir, "page.png"), fullPage: true });

  const runs = async (algo) => Number(await page.getAttribute(`[data-testid=${algo}-answer]`, "data-run"));
  const waitForRuns = (algo, count) =>
    page.waitForFunction(([a, n]) => Number(document.querySelector(`[data-testid=${a}-answer]`).dataset.run) >= n, [algo, count], { timeout: 60_000 });
  const shown = (algo) =>
    page.evaluate((a) => {
      const get = (id) => document.querySelector(`[data-testid=${a}-${id}]`);
      return {
        state: get("answer").dataset.state,
        answer: get("answer").textContent,
        error: get("error").hidden ? "" : get("error").textContent,
        output: get("output").textContent,
        stdin: get("command").dataset.stdin ?? null,
        bars: get("probabilities").querySelectorAll("[role=meter]").length,
      };
    }, algo);
  const pictureRead = () =>
    page.evaluate(async () => {
      const link = document.querySelector("[data-testid=mnist-picture]");
      const bytes = new Uint8Array(await (await fetch(link.href)).arrayBuffer());
      let text = "";
      for (const b of bytes) text += String.fromCharCode(b);
      return btoa(text);
    });

  // MNIST: each digit drawn with the mouse, one stroke at a time.
  // Measured before each digit: the page may have scrolled since.
  const canvasBox = async () => {
    const canvas = page.locator("[data-testid=mnist-canvas]");
    await canvas.scrollIntoViewIfNeeded();
    return canvas.boundingBox();
  };
  const draw = async (strokes) => {
    const canvas = await canvasBox();
    for (const stroke of strokes) {
      const at = ([x, y]) => [canvas.x + x * canvas.width, canvas.y + y * canvas.height];
      await page.mouse.move(...at(stroke[0]));
      await page.mouse.down();
      for (const point of stroke.slice(1)) await page.mouse.move(...at(point), { steps: 4 });
      await page.mouse.up();
    }
  };
  for (const [digit, strokes] of Object.entries(DIGITS)) {
    await page.click("#mnist-clear");
    const before = await runs("mnist");
    await draw(strokes);
    await waitForRuns("mnist", before + strokes.length);
    cases.push({ name: `drawn ${digit}`, algo: "mnist", expected: digit, picture: keepPicture(await pictureRead(), "png"), ...(await shown("mnist")) });
    if (digit === "3") await page.locator("#mnist").screenshot({ path: join(outDir, "mnist-drawn.png") });
  }

  // A photo-like picture: a dark marker digit on uneven, noisy paper, slightly turned, as JPEG.
  const photo = await page.evaluate(async () => {
    const c = new OffscreenCanvas(640, 480);
    const g = c.getContext("2d");
    const light = g.createLinearGradient(0, 0, 640, 480);
    light.addColorStop(0, "#e9e4d8");
    light.addColorStop(1, "#b9b2a4");
    g.fillStyle = light;
    g.fillRect(0, 0, 640, 480);
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let i = 0; i < 6000; i++) {
      g.fillStyle = `rgba(60,50,40,${random() * 0.12})`;
      g.fillRect(random() * 640, random() * 480, 2, 2);
    }
    g.translate(320, 240);
    g.rotate(0.08);
    g.strokeStyle = "#23252b";
    g.lineWidth = 26;
    g.lineCap = "round";
    g.lineJoin = "round";
    g.beginPath();
    g.moveTo(-70, -120);
    g.lineTo(75, -120);
    g.lineTo(-10, 135);
    g.stroke();
    const blob = await c.convertToBlob({ type: "image/jpeg", quality: 0.85 });
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let text = "";
    for (const b of bytes) text += String.fromCharCode(b);
    return btoa(text);
  });
  let before = await runs("mnist");
  await page.setInputFiles("input[name=photo]", { name: "photo.jpg", mimeType: "image/jpeg", buffer: Buffer.from(photo, "base64") });
  await waitForRuns("mnist", before + 1);
  cases.push({ name: "photo of a 7", algo: "mnist", expected: "7", picture: keepPicture(photo, "jpg"), ...(await shown("mnist")) });
  await page.locator("#mnist").screenshot({ path: join(outDir, "mnist-photo.png") });

  before = await runs("mnist");
  const notAPicture = Buffer.from("these are notes, not a picture\n");
  await page.setInputFiles("input[name=photo]", { name: "notes.txt", mimeType: "text/plain", buffer: notAPicture });
  await waitForRuns("mnist", before + 1);
  cases.push({ name: "not a picture", algo: "mnist", expected: null, picture: keepPicture(notAPicture.toString("base64"), "txt"), ...(await shown("mnist")) });

  // The forms: the prefilled example, other values, and values the module must refuse.
  const submit = async (algo, name, values) => {
    for (const [field, value] of Object.entries(values)) {
      const input = page.locator(`#${algo} [name=${field}]`);
      if ((await input.evaluate((e) => e.tagName)) === "SELECT") await input.selectOption(value);
      else await input.fill(value);
    }
    const count = await runs(algo);
    await page.click(`#${algo} button[type=submit]`);
    await waitForRuns(algo, count + 1);
    cases.push({ name, algo, ...(await shown(algo)) });
  };
  await submit("iris", "iris example", {});
  await submit("iris", "iris setosa", { sepal_length: "5.1", sepal_width: "3.5", petal_length: "1.4", petal_width: "0.2" });
  await submit("iris", "iris virginica", { sepal_length: "6.7", sepal_width: "3.0", petal_length: "5.2", petal_width: "2.3" });
  await page.locator("#iris").screenshot({ path: join(outDir, "iris.png") });
  await submit("iris", "iris negative length", { sepal_length: "-1" });
  await submit("iris", "iris not a number", { sepal_length: "seven" });
  await submit("iris", "iris missing value", { sepal_length: "" });

  await submit("wine-quality", "wine example", {});
  await submit("wine-quality", "white wine", { type: "white", alcohol: "12.8", volatile_acidity: "0.3", residual_sugar: "6.2", density: "0.9935" });
  await page.locator("#wine-quality").screenshot({ path: join(outDir, "wine-quality.png") });
  await submit("wine-quality", "wine impossible density", { density: "2" });

  await submit("ag-news", "ag-news example", {});
  await submit("ag-news", "ag-news headline", { title: "Stocks tumble as oil prices soar to a record", description: "" });
  await submit("ag-news", "ag-news sports headline", { title: "Zürich striker’s late goal wins the cup — fans celebrate", description: "" });
  await submit("ag-news", "ag-news science", { title: "NASA probe sends new images of Saturn's moons", description: "Scientists say the spacecraft's cameras found ice." });
  await page.locator("#ag-news").screenshot({ path: join(outDir, "ag-news.png") });
  await submit("ag-news", "ag-news nothing typed", { title: "", description: "" });

  await page.screenshot({ path: join(outDir, "page-after.png"), fullPage: true });

  // Fresh, as a visitor first sees it answered: a drawn 3 and each form's own example.
  await page.reload();
  await page.waitForSelector("[data-testid=page-status][data-state=ready]", { timeout: 60_000 });
  await draw(DIGITS[3]);
  await waitForRuns("mnist", DIGITS[3].length);
  cases.push({ name: "after a reload: drawn 3", algo: "mnist", expected: "3", picture: keepPicture(await pictureRead(), "png"), ...(await shown("mnist")) });
  for (const algo of ["iris", "wine-quality", "ag-news"]) await submit(algo, `after a reload: ${algo} example`, {});
  await page.screenshot({ path: join(outDir, "page-answered.png"), fullPage: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(outDir, "page-top.png") });
} catch (error) {
  problems.push(`the browser test stopped: ${error.message ?? error}`);
} finally {
  await browser.close();
}
writeFileSync(join(outDir, "results.json"), JSON.stringify({ problems, cases }, null, 1));
console.log(`page test: ${cases.length} cases, ${problems.length} problems; results in ${join(outDir, "results.json")}`);
