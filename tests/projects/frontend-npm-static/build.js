// Stands in for a bundler: reads the sources, writes the bundle into static/.
const fs = require("node:fs");
const path = require("node:path");

const source = fs.readFileSync(path.join(__dirname, "assets", "main.js"), "utf8");
const out = path.join(__dirname, "static");
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, "bundle.js"), `/* shop bundle, node ${process.version} */\n${source}`);
console.log("wrote static/bundle.js");
