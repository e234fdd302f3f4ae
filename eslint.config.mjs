// Lint rules that catch real mistakes; formatting is prettier's job.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const nodeGlobals = {
  process: "readonly",
  require: "readonly",
  setInterval: "readonly",
  console: "readonly",
};

export default tseslint.config(
  { ignores: ["**/node_modules/**", "**/bin/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "no-console": "off",
    },
  },
  // Plain JavaScript runs under Node as is: the launcher (ESM) and the test packs (CommonJS, as
  // run-policy-pack requires a package's main).
  { files: ["**/*.mjs"], languageOptions: { globals: nodeGlobals } },
  {
    files: ["**/*.js"],
    languageOptions: { sourceType: "commonjs", globals: nodeGlobals },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
