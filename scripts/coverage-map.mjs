// Tests that spawn a server process measure behaviour end to end; the child runs under another
// TypeScript loader, and its coverage would garble the merged report. They cover nothing.
export default function coverageMap(testFile) {
  return /(^|\/)(src\/entry|scripts)\/[^/]+\.test\.ts$/.test(testFile) ? null : [];
}
