// Renders a ZPL file to PNG with the independent renderer zpl-renderer-js (Zebrash in WASM), for
// the label tests and the printer simulator: node zpl-render.cjs WIDTH_MM HEIGHT_MM IN.zpl OUT.png
// The package is found through NODE_PATH (`.ci/run` installs it under the build folder).
const fs = require('fs');
const { ready } = require('zpl-renderer-js');
const [w, h, input, output] = process.argv.slice(2);
ready
  .then(({ api }) => api.zplToBase64Async(fs.readFileSync(input, 'utf8'), Number(w), Number(h), 8))
  .then((b64) => fs.writeFileSync(output, Buffer.from(b64, 'base64')))
  .catch((e) => {
    console.error(String(e));
    process.exit(1);
  });
