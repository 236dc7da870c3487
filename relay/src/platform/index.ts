// The platform client: TLS material with certificate reload and the one
// verify rule (tls.ts), one HTTP exchange with deadlines, a size cap and typed
// failures (http.ts), and JSON POSTs to the internal API (json.ts). Admission,
// the server-mode bus and the worker tunnel all call the platform through it.
export { createPlatformTls, verifiesPlatform, type PlatformTls, type PlatformTlsOptions, type PlatformTlsSettings } from './tls.js';
export { sendPlatformRequest, type PlatformFailure, type PlatformRequest, type PlatformResponse } from './http.js';
export { postPlatformJson, type PlatformJsonOptions, type PlatformJsonResult } from './json.js';
