// Loads an ES module by file URL from a real CommonJS module that is not part of the CLI bundle,
// so the import() below runs with Node's own loader however the bundle is run (from a vm.Script
// with a V8 code cache, an import() compiled inside the bundle fails on Node 20).
module.exports = (url) => import(url);
