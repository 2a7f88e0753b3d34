// mlpress: emcc's Node.js shell defines Module.inspect (for util.inspect); the bindings export
// their own `inspect`, so drop the shell's before embind registers it.
if (ENVIRONMENT_IS_NODE) delete Module['inspect'];
