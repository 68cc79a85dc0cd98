/** Ids of domains, projects and users: 1–64 of A-Z a-z 0-9 _ -. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Resource ids travel in URL paths: no slash, no control characters. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: excluding control characters is the point
export const RESOURCE_ID_PATTERN = /^[^/\u0000-\u001f]{1,128}$/;
