// Kept in one place so the CLI, the server and the window title agree; bumped with package.json.
export const APP_VERSION = '0.1.0'
