/** Reported in x-ms-server-version and GET /v2. */
export const SERVER_VERSION = 'modelport/0.1.0';
