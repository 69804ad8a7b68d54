/** IPC channel names shared by the main process and the preload; nothing else crosses IPC. */
export const CALL_CHANNEL = 'metascope:call'
export const EVENT_CHANNEL = 'metascope:event'
export const PICK_CHANNEL = 'metascope:pick'
export const COMMAND_CHANNEL = 'metascope:command'
