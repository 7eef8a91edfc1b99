// Loads an ES module by file URL from a real CommonJS module. The CLI runs as a vm.Script with a
// V8 code cache; an import() compiled inside it (or by eval/new Function from it) has lost its
// loader on Node 20 ("A dynamic import callback was not specified"). This file is not bundled.
module.exports = (url) => import(url);
