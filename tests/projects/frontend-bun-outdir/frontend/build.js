// Run by bun. Stands in for `vite build` with outDir "../app/frontend": the output lands outside
// this directory, inside the Python package.
const fs = require("node:fs");
const path = require("node:path");

const text = fs.readFileSync(path.join(__dirname, "src", "App.txt"), "utf8").trim();
const out = path.join(__dirname, "..", "app", "frontend");
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, "index.html"), `<!doctype html><title>spa</title><p>${text}</p><p>built by bun ${process.versions.bun}</p>\n`);
console.log("wrote ../app/frontend/index.html");
